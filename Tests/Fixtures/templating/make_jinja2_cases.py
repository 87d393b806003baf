"""Regenerates jinja2_cases.json: small templates rendered by transformers' own chat-template Jinja
environment (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, its tojson and
raise_exception). Run: python3 make_jinja2_cases.py  (needs transformers and jinja2>=3.1.6)."""
import json, pathlib
import jinja2, transformers
from transformers.utils.chat_template_utils import _cached_compile_jinja_template

CASES = [
    # --- whitespace control, trim_blocks, lstrip_blocks
    ("ws_trim_blocks", "{% if true %}\nA\n{% endif %}\nB\n", {}),
    ("ws_lstrip_blocks", "x\n    {% if true %}\n    y\n    {% endif %}\nz", {}),
    ("ws_lstrip_not_variables", "a\n    {{ 'v' }}\n  {% if 1 %}b{% endif %}", {}),
    ("ws_minus_both", "a   \n  {%- if true -%}  \n  b  \n  {%- endif -%}\n  c", {}),
    ("ws_variable_minus", "a  {{- 'x' -}}  b\n{{ 'y' }}\n", {}),
    ("ws_plus_disables", "a\n    {%+ if true %}b{% endif +%}\nc", {}),
    ("ws_comment", "a\n  {# note #}\nb {#- x -#} c\n{# z #}d", {}),
    ("ws_text_before_tag_same_line", "a  {% if true %}b{% endif %}  c\n", {}),
    ("ws_trailing_newline_dropped", "line\n", {}),
    ("ws_two_trailing_newlines", "line\n\n", {}),
    ("ws_crlf", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\nc", {}),
    ("ws_raw", "{% raw %}{{ not evaluated }} {% if %}{% endraw %}!", {}),
    ("ws_tabs_lstrip", "x\n\t\t{% set a = 1 %}\n\t{{ a }}", {}),
    # --- scoping
    ("scope_for_set_no_leak", "{% set x = 1 %}{% for i in range(3) %}{% set x = i %}{{ x }}{% endfor %}|{{ x }}", {}),
    ("scope_namespace_leaks", "{% set ns = namespace(x=0) %}{% for i in range(4) %}{% set ns.x = ns.x + i %}{% endfor %}{{ ns.x }}", {}),
    ("scope_if_leaks", "{% if true %}{% set y = 5 %}{% endif %}{{ y }}", {}),
    ("scope_per_iteration", "{% for i in range(3) %}[{{ y }}]{% set y = i %}{% endfor %}", {}),
    ("scope_macro_sees_globals", "{% set g = 'G' %}{% macro m() %}{{ g }}{{ outer }}{% endmacro %}{{ m() }}", {"outer": "O"}),
    ("scope_macro_set_no_leak", "{% macro m() %}{% set z = 1 %}{{ z }}{% endmacro %}{{ m() }}[{{ z }}]", {}),
    # --- macros
    ("macro_defaults", "{% macro f(a, b=2, c='x') %}{{ a }}-{{ b }}-{{ c }}{% endmacro %}{{ f(1) }} {{ f(1, 3) }} {{ f(1, c='y') }} {{ f() }}", {}),
    ("macro_as_value_trim", "{% macro f() %}\n  hi  \n{% endmacro %}[{{ f()|trim }}][{{ f() }}]", {}),
    ("macro_varargs_kwargs", "{% macro f(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ f(1, 2, 3, k='v') }}", {}),
    ("macro_call_block", "{% macro wrap(t) %}<{{ t }}>{{ caller() }}</{{ t }}>{% endmacro %}{% call wrap('b') %}body{% endcall %}", {}),
    ("macro_recursive", "{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1)|int }}{% endif %}{% endmacro %}{{ fact(5) }}", {}),
    # --- loops
    ("loop_vars", "{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}|{% endfor %}", {}),
    ("loop_prev_next", "{% for x in [1, 2, 3] %}{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }};{% endfor %}", {}),
    ("loop_else", "{% for x in [] %}x{% else %}empty{% endfor %}{% for x in [1] %}{{ x }}{% else %}no{% endfor %}", {}),
    ("loop_filter", "{% for x in range(10) if x is odd %}{{ x }}{{ loop.length }},{% endfor %}", {}),
    ("loop_unpack_items", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k, v in d|items %}{{ k }}{% endfor %}{% for k in d %}{{ k }}{% endfor %}", {"d": {"z": 1, "a": [1, 2], "m": None}}),
    ("loop_break_continue", "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 5 %}{% break %}{% endif %}{{ i }}{% endfor %}", {}),
    ("loop_nested_depth", "{% for a in [1, 2] %}{% for b in 'xy' %}{{ loop.depth }}{{ a }}{{ b }}{{ loop.index }} {% endfor %}{{ loop.index }}|{% endfor %}", {}),
    ("loop_cycle", "{% for i in range(5) %}{{ loop.cycle('a', 'b') }}{% endfor %}", {}),
    ("loop_reverse_slice", "{% for m in msgs[::-1] %}{{ m }}{{ (msgs|length - 1) - loop.index0 }}{% endfor %}", {"msgs": ["a", "b", "c"]}),
    # --- literals and printing
    ("print_python", "{{ true }} {{ None }} {{ 1.0 }} {{ 0.1 }} {{ 1e-05 }} {{ 1e16 }} {{ 123456789.125 }} {{ -0.0 }} {{ 3 }} {{ 2.50 }} {{ 1e100 }}", {}),
    ("print_containers", "{{ [1, 'a', none, true, 1.5] }} {{ {'k': 'v', 'n': [1, {'x': none}]} }} {{ (1,) }} {{ (1, 'b') }} {{ () }}", {}),
    ("print_string_repr", "{{ [\"it's\", 'say \"hi\"', 'both \\' \"', 'tab\\tnl\\n', 'back\\\\slash', '\\x01', 'é中😀'] }}", {}),
    ("print_json_values", "{{ v }}|{{ v.f }}|{{ v.i }}|{{ v.b }}|{{ v.n }}|{{ v.big }}", {"v": {"f": 2.0, "i": 7, "b": False, "n": None, "big": 1.5e300}}),
    ("print_undefined", "[{{ missing }}][{{ d.nokey }}][{{ missing is defined }}][{{ d.nokey is undefined }}]", {"d": {}}),
    ("string_escapes", "{{ 'a\\nb\\tc\\\\d\\'e' }}|{{ \"q\\\"q\" }}|{{ '\\u00e9\\x41' }}|{{ 'adj' 'acent' }}", {}),
    # --- expressions
    ("arith", "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 6 / 3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ -2 ** 2 }} {{ 7.5 // 2 }} {{ 'ab' * 3 }}", {}),
    ("concat_tilde", "{{ 'a' ~ 1 ~ none ~ true ~ missing ~ [1] }}|{{ 1 ~ 2 * 3 }}|{{ 'x' ~ 'a b'|upper }}", {}),
    ("err_concat_precedence", "{{ 1 ~ 2 + 3 }}", {}),
    ("compare_chain", "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 'a' < 'b' }} {{ [1, 2] == [1, 2] }} {{ 1 == 1.0 }} {{ true == 1 }} {{ none == none }} {{ 'x' != 'y' }}", {}),
    ("in_operator", "{{ 'a' in 'cat' }} {{ 'k' in d }} {{ 'z' not in d }} {{ 2 in [1, 2] }} {{ 'q' in [] }}", {"d": {"k": 1}}),
    ("logic", "{{ 0 or 'x' }} {{ 1 and 'y' }} {{ none or [] }} {{ not 0 }} {{ not 'a' and true }} {{ '' and 1 }}", {}),
    ("cond_expr", "{{ 'a' if true else 'b' }}{{ 'c' if false else 'd' }}[{{ 'e' if false }}]{{ 1 if 0 else 2 if 0 else 3 }}", {}),
    ("subscript", "{{ l[0] }}{{ l[-1] }}{{ l[1:] }}{{ l[:-1] }}{{ l[::2] }}{{ l[::-1] }}{{ s[1:3] }}{{ s[::-1] }}{{ s[-2] }}{{ d['k'] }}{{ d.k }}{{ l.0 }}[{{ l[10] }}]", {"l": [1, 2, 3, 4], "s": "héllo😀", "d": {"k": "v"}}),
    ("slice_edge", "{{ l[5:1:-1] }} {{ l[-100:100] }} {{ l[3:1] }} {{ l[-2:] }} {{ l[:100:3] }}", {"l": list(range(8))}),
    ("dict_literal_order", "{% set d = {'b': 1, 'a': 2} %}{{ d|tojson }} {{ d.keys()|list }} {{ d.values()|list }} {{ d.items()|list }}", {}),
    ("dict_get", "{{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 'dflt') }}", {"d": {"a": 1}}),
    ("namespace_print", "{% set ns = namespace(a=1, b='x') %}{{ ns.a }}{{ ns.b }}{{ ns.c }}", {}),
    ("set_tuple", "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t = 1, 2 %}{{ t }}", {}),
    ("set_block", "{% set x %}  in {{ 1 + 1 }}  {% endset %}[{{ x }}]", {}),
    ("with_block", "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}[{{ a }}]", {}),
    ("filter_block", "{% filter upper %}hello {{ 'x' }}{% endfilter %}", {}),
    ("generation_block", "a{% generation %}B{{ 1 }}{% endgeneration %}c", {}),
    # --- string methods
    ("str_methods", "{{ s.startswith('He') }} {{ s.endswith(('x', 'd!')) }} {{ s.split() }} {{ s.split('l') }} {{ s.split('l', 1) }} {{ s.rsplit('l', 1) }} {{ s.upper() }} {{ s.lower() }} {{ s.replace('l', 'L') }} {{ s.replace('l', 'L', 2) }} {{ s.find('o') }} {{ s.rfind('o') }} {{ s.find('zz') }} {{ s.count('l') }} {{ s.title() }} {{ s.capitalize() }}", {"s": "Hello world!"}),
    ("str_strip", "[{{ s.strip() }}][{{ s.lstrip() }}][{{ s.rstrip() }}][{{ t.strip('x') }}][{{ t.lstrip('xa') }}][{{ t.rstrip('\\n') }}]", {"s": "  \n a b \t\n", "t": "xxaxx\n\n"}),
    ("str_split_think", "{% set c = content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}[{{ c }}][{{ content.split('</think>')[-1].lstrip('\\n') }}]", {"content": "<think>\nr1\nr2\n</think>\n\nanswer"}),
    ("str_format_join", "{{ '{} and {}'.format(1, 'b') }} {{ '{0}{name}'.format('x', name='y') }} {{ ', '.join(['a', 'b']) }} {{ '-'.join('abc') }}", {}),
    ("str_misc", "{{ '12'.isdigit() }} {{ 'ab'.isalpha() }} {{ ' '.isspace() }} {{ 'ABC'.isupper() }} {{ 'a,b,,c'.split(',') }} {{ '  a  b  '.split(None, 1) }} {{ 'x'.zfill(3) }}", {}),
    # --- filters
    ("f_tojson", "{{ d|tojson }}\n{{ d|tojson(indent=2) }}\n{{ [1, 'é', none, true, 2.5, {}] |tojson }}\n{{ 'a\"b\\\\c\\n\\u0001</script>'|tojson }}", {"d": {"name": "x", "emoji": "😀中", "n": {"a": [1, 2.0, None]}, "e": [], "o": {}}}),
    ("f_tojson_sort", "{{ d|tojson(sort_keys=true) }}", {"d": {"b": 1, "a": {"d": 1, "c": 2}}}),
    ("f_tojson_floats", "{{ [1.0, 0.1, 1e-05, 1e16, 1e300, 3.14159, 100.0, -2.5e-10]|tojson }}", {}),
    ("f_string_safe", "{{ 1|string }}{{ none|string }}{{ [1]|string }}{{ '<b>'|safe }}{{ x|string }}", {}),
    ("f_trim_length", "[{{ '  a  '|trim }}][{{ 'xxaxx'|trim('x') }}]{{ 'héllo😀'|length }}{{ [1, 2]|count }}{{ {'a': 1}|length }}{{ missing|length }}", {}),
    ("f_first_last_list", "{{ [3, 4]|first }}{{ [3, 4]|last }}{{ 'abc'|list }}{{ 'abc'|first }}[{{ []|first }}]", {}),
    ("f_join", "{{ [1, 2, 3]|join(', ') }} {{ ['a', 'b']|join }} {{ users|join(',', attribute='name') }}", {"users": [{"name": "u1"}, {"name": "u2"}]}),
    ("f_case", "{{ 'hello WORLD'|upper }} {{ 'HeLLo'|lower }} {{ 'hello WORLD'|capitalize }} {{ 'hello wORLD-x'|title }}", {}),
    ("f_replace", "{{ 'aaa'|replace('a', 'b') }} {{ 'aaa'|replace('a', 'b', 2) }}", {}),
    ("f_default", "{{ missing|default('d') }} {{ none|default('d') }} {{ ''|default('d', true) }} {{ 0|d('z') }} {{ 'v'|d('z') }} {{ missing|d }}", {}),
    ("f_numbers", "{{ '42'|int }} {{ '4.7'|int }} {{ 'x'|int }} {{ 'x'|int(7) }} {{ 3.9|int }} {{ '2.5'|float }} {{ 3|float }} {{ -3|abs }} {{ -2.5|abs }} {{ 2.567|round(2) }} {{ 2.5|round }} {{ 3.5|round }} {{ 2.1|round(0, 'ceil') }} {{ 2.9|round(method='floor') }} {{ 7|round }}", {}),
    ("f_map_select", "{{ users|map(attribute='name')|list }} {{ [1, 2, 3, 4]|select('even')|list }} {{ [1, 2, 3, 4]|reject('odd')|list }} {{ [0, 1, '', 'a']|select|list }} {{ users|selectattr('admin')|map(attribute='name')|join }} {{ users|rejectattr('admin')|list|length }} {{ users|selectattr('name', 'equalto', 'b')|list }} {{ ['a', 'B']|map('upper')|list }} {{ users|map(attribute='zz', default='n')|list }}", {"users": [{"name": "a", "admin": True}, {"name": "b", "admin": False}]}),
    ("f_sort_unique", "{{ [3, 1, 2]|sort }} {{ [3, 1, 2]|sort(reverse=true) }} {{ ['b', 'A', 'c']|sort }} {{ ['b', 'A', 'c']|sort(case_sensitive=true) }} {{ users|sort(attribute='age')|map(attribute='n')|list }} {{ [1, 2, 1, 3, 2]|unique|list }} {{ ['a', 'A', 'b']|unique|list }}", {"users": [{"n": "x", "age": 30}, {"n": "y", "age": 20}, {"n": "z", "age": 30}]}),
    ("f_dictsort", "{{ d|dictsort }} {{ d|dictsort(by='value') }} {{ d|dictsort(reverse=true) }}", {"d": {"b": 1, "a": 3, "C": 2}}),
    ("f_indent", "{{ 'a\\nb\\n\\nc'|indent }}|{{ 'a\\nb'|indent(2, true) }}|{{ 'a\\n\\nb'|indent(2, blank=true) }}|{{ 'x\\n'|indent }}", {}),
    ("f_misc", "{{ 'one two  three'|wordcount }} {{ [1, 2, 3, 4, 5]|batch(2)|list }} {{ [1, 2, 3]|batch(2, 0)|list }} {{ [1, 2, 3]|sum }} {{ [3, 1]|min }} {{ [3, 1]|max }} {{ [1, 2]|reverse|list }} {{ 'abc'|reverse }} {{ '%s-%d'|format('a', 3) }} {{ '<a>&'|escape }}", {}),
    ("f_items_filter", "{% for k, v in args|items %}{{ k }}:{{ v }};{% endfor %}", {"args": {"city": "Paris", "n": 3, "l": [1, "x"], "o": {"a": None}}}),
    # --- tests
    ("tests_types", "{{ 'a' is string }}{{ 1 is number }}{{ 1.5 is number }}{{ true is number }}{{ 1 is integer }}{{ true is integer }}{{ 1.5 is float }}{{ true is boolean }}{{ none is none }}{{ {} is mapping }}{{ [] is mapping }}{{ [] is sequence }}{{ 'x' is sequence }}{{ {} is sequence }}{{ 1 is sequence }}{{ 'x' is iterable }}{{ missing is iterable }}{{ 3 is iterable }}", {}),
    ("tests_values", "{{ true is true }}{{ 1 is true }}{{ false is false }}{{ 3 is odd }}{{ 4 is even }}{{ 9 is divisibleby 3 }}{{ 9 is divisibleby(4) }}{{ 1 is eq 1 }}{{ 1 is ne 2 }}{{ 2 is in [1, 2] }}{{ 'abc' is lower }}{{ 'ABC' is upper }}{{ x is callable }}{{ range is callable }}{{ 1 is lt 2 }}{{ 1 is ge 2 }}{{ none is sameas none }}", {"x": 1}),
    ("tests_case_strings", "{{ '' is lower }}{{ '1' is lower }}{{ 'a1' is lower }}{{ 'A1' is upper }}{{ 'Ab' is upper }}", {}),
    ("tests_not", "{{ 1 is not string }}{{ x is not defined }}{{ not x is defined }}", {}),
    # --- qwen-like bits
    ("tool_args_value", "{% for n, v in args|items %}{% set v = v | tojson | safe if v is mapping or (v is sequence and v is not string) else v | string %}<{{ n }}={{ v }}>{% endfor %}", {"args": {"s": "str", "i": 3, "f": 2.0, "b": True, "n": None, "l": [1, "é"], "d": {"k": [True]}}}),
    ("previtem_role", "{% for m in ms %}{% if loop.previtem and loop.previtem.role != 'tool' %}[U]{% endif %}{{ m.role }}{% if not loop.last and loop.nextitem.role != 'tool' %}.{% elif loop.last %}!{% endif %}{% endfor %}", {"ms": [{"role": "user"}, {"role": "tool"}, {"role": "tool"}, {"role": "assistant"}]}),
    ("range_forms", "{{ range(3)|list }}{{ range(1, 4)|list }}{{ range(10, 0, -3)|list }}{{ range(0)|list }}", {}),
    ("dict_global", "{{ dict(a=1, b='x') }}{{ dict(a=1)|tojson }}", {}),
    ("none_attr", "[{{ n.attr }}][{{ n.attr is defined }}]", {"n": None}),
    ("bool_ops_strings", "{{ 'a' + 'b' }}{{ [1] + [2] }}", {}),
    # --- more whitespace / lexing corners
    ("ws_template_start_lstrip", "   {% if true %}x{% endif %}\n  {%- if true %}y{% endif %}", {}),
    ("ws_after_variable_no_lstrip", "{{ 1 }}   {% if true %}x{% endif %}", {}),
    ("ws_comment_trim_newline", "{# c #}\n  {# d #}\nA", {}),
    ("ws_block_end_minus_newlines", "{% if true -%}\n\n   x{%- endif %}\n\ny", {}),
    ("ws_nested_blocks", "<ul>\n  {% for i in [1, 2] %}\n    {% if i > 1 %}\n    <li>{{ i }}</li>\n    {% endif %}\n  {% endfor %}\n</ul>\n", {}),
    ("ws_braces_in_expression", "{{ {'a': {'b': 1}} }}|{{ {'x': [1, {'y': 2}]}|tojson }}", {}),
    ("ws_percent_in_text", "50% done {{ '%}' }} 100%", {}),
    ("lex_numbers", "{{ 1_000 }} {{ 1.5e3 }} {{ 2e2 }} {{ 10 / 4 }} {{ 0.5 + 0.25 }} {{ 3 - -2 }} {{ -3|abs }}", {}),
    ("repr_unicode", "{{ ['\u200b', '\xa0', 'ok é', '\x7f', '\u2028'] }}", {}),
    ("print_float_list", "{{ [1e-05, 0.0001, 123456789012345678.0, 1.0e15, 0.3] }}", {}),
    ("filter_chain_precedence", "{{ items|length - 1 }} {{ -1|abs }} {{ 'a b'|upper ~ 'c' }} {{ not 'x'|length }}", {"items": [1, 2, 3]}),
    ("test_precedence", "{{ x is defined and x > 1 }} {{ y is not none or 'n' }} {{ 'a' ~ 'b' is string }}", {"x": 2, "y": None}),
    ("content_list_render", "{%- macro rc(content) %}{%- if content is string %}{{- content }}{%- elif content is iterable and content is not mapping %}{%- for item in content %}{%- if 'image' in item or item.type == 'image' %}<img>{%- elif 'text' in item %}{{- item.text }}{%- endif %}{%- endfor %}{%- elif content is none or content is undefined %}{{- '' }}{%- endif %}{%- endmacro %}[{{ rc(a) }}][{{ rc(b) }}][{{ rc(c) }}][{{ rc(d) }}]", {"a": "txt", "b": [{"type": "image"}, {"type": "text", "text": "t"}], "c": None}),
    ("getattr_dict_method_shadow", "{{ d['items'] }} {{ d.keys()|list }} {{ d.title }}", {"d": {"items": 5, "title": "T"}}),
    ("string_compare_unicode", "{{ 'é' > 'z' }} {{ 'B' < 'a' }} {{ ['b', 'a', 'é', 'Z']|sort(case_sensitive=true) }}", {}),
    ("int_float_ops", "{{ 1 + 1.5 }} {{ 3 * 1.0 }} {{ 2 ** 0.5 }} {{ 7 // 2.0 }} {{ -7.5 % 2 }} {{ true + true }}", {}),
    ("strftime_type", "{{ strftime_now('%Y') is string }}", {}),
    ("undefined_in_ops", "{{ missing is iterable }}{% for x in missing %}x{% endfor %}{{ missing|list }}{{ missing|string }}[{{ missing|trim }}]", {}),
    ("err_unknown_tag", "{% frobnicate %}", {}),
    ("err_unclosed_block", "{% if true %}x", {}),
    ("err_unknown_filter", "{% for i in [1] %}{{ x|nosuch }}{% endfor %}", {}),
    ("unknown_filter_in_untaken_if", "{% if x %}{{ y|nosuch }}{% elif x is frob %}{% endif %}{{ 'ok' if true else y|nope }}", {}),
    ("err_unknown_filter_in_taken_if", "{% if true %}{% else %}{% endif %}{% if not x %}{{ y|nosuch2 }}{% endif %}", {}),
    ("err_unknown_test", "{{ x is frob }}", {}),
    ("err_undefined_call", "{{ nope() }}", {}),
    # --- snippets in the style of other models' chat templates
    ("llama_style", "{{- bos_token }}\n{%- if messages[0]['role'] == 'system' %}\n    {%- set system_message = messages[0]['content']|trim %}\n    {%- set messages = messages[1:] %}\n{%- else %}\n    {%- set system_message = \"\" %}\n{%- endif %}\n{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}\n{%- if tools is not none %}\n    {%- for t in tools %}\n        {{- t | tojson(indent=4) }}\n        {{- \"\\n\\n\" }}\n    {%- endfor %}\n{%- endif %}\n{{- system_message }}\n{{- \"<|eot_id|>\" }}\n{%- for message in messages %}\n    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}\n        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}\n    {%- elif 'tool_calls' in message %}\n        {%- if not message.tool_calls|length == 1 %}\n            {{- raise_exception(\"This model only supports single tool-calls at once!\") }}\n        {%- endif %}\n        {%- set tool_call = message.tool_calls[0].function %}\n        {{- '{\"name\": \"' + tool_call.name + '\", ' }}\n        {{- '\"parameters\": ' }}\n        {{- tool_call.arguments | tojson }}\n        {{- \"}\" }}\n    {%- endif %}\n{%- endfor %}\n{%- if add_generation_prompt %}\n    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}\n{%- endif %}\n", {"bos_token": "<|begin_of_text|>", "add_generation_prompt": True, "tools": [{"name": "f", "parameters": {"a": 1}}], "messages": [{"role": "system", "content": " Sys \n"}, {"role": "user", "content": "Hi "}, {"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": {"a": "é"}}}]}]}),
    ("mistral_style", "{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content'] %}{%- set loop_messages = messages[1:] %}{%- else %}{%- set loop_messages = messages %}{%- endif %}{{- bos_token }}{%- for message in loop_messages %}{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{- raise_exception('After the optional system message, conversation roles must alternate user/assistant/user/assistant/...') }}{%- endif %}{%- if message['role'] == 'user' %}{%- if loop.first and system_message is defined %}{{- ' [INST] ' + system_message + '\\n\\n' + message['content'] + ' [/INST]' }}{%- else %}{{- ' [INST] ' + message['content'] + ' [/INST]' }}{%- endif %}{%- elif message['role'] == 'assistant' %}{{- ' ' + message['content'] + eos_token}}{%- endif %}{%- endfor %}", {"bos_token": "<s>", "eos_token": "</s>", "messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "u1"}, {"role": "assistant", "content": "a1"}, {"role": "user", "content": "u2"}]}),
    ("err_mistral_alternation", "{%- for message in messages %}{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{- raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{%- endif %}{%- endfor %}", {"messages": [{"role": "user"}, {"role": "user"}]}),
    ("content_parts_filters", "{{ parts | selectattr('type', 'equalto', 'text') | map(attribute='text') | join('\\n') }}|{{ msgs | selectattr('role', 'eq', 'system') | list | length }}|{{ tools | map('tojson') | join(',') }}", {"parts": [{"type": "text", "text": "a"}, {"type": "image"}, {"type": "text", "text": "b"}], "msgs": [{"role": "system"}, {"role": "user"}], "tools": [{"x": 1}, {"y": [True]}]}),
    ("reverse_range", "{% for i in range(msgs|length - 1, -1, -1) %}{{ msgs[i] }}{{ ',' if not loop.last }}{% endfor %}", {"msgs": ["a", "b", "c"]}),
    ("tojson_options", "{{ d|tojson(ensure_ascii=true) }}|{{ d|tojson(separators=(',', ':')) }}|{{ d|tojson(indent=2, separators=(',', ': ')) }}|{{ d|tojson(true) }}", {"d": {"k": "é😀", "l": [1, 2]}}),
    ("percent_format", "{{ '%s-%s' % ('a', 1) }} {{ 'n=%d' % 5 }} {{ '%r' % 'q' }} {{ '100%%' % () }}", {}),
    ("list_concat_accumulate", "{% set acc = [] %}{% for x in [1, 2] %}{% set acc = acc + [x * 2] %}{% endfor %}{{ acc }}{% set ns = namespace(acc=[]) %}{% for x in [1, 2] %}{% set ns.acc = ns.acc + [x] %}{% endfor %}{{ ns.acc }}", {}),
    ("inline_if_none_default", "{% set sm = msgs[0]['content'] if msgs[0]['role'] == 'system' else none %}{{ sm }}|{{ sm is none }}", {"msgs": [{"role": "user", "content": "x"}]}),
    ("nested_quotes_and_unicode", "{{ '<｜tool▁call▁begin｜>' + name + \"'s\" }}", {"name": "fn"}),
    # --- errors (exception type and message)
    ("err_raise", "a{{ raise_exception('Custom failure: ' ~ x) }}", {"x": 42}),
    ("err_items_on_string", "{% for k, v in s|items %}{% endfor %}", {"s": "text"}),
    ("err_undefined_attr", "{{ missing.attr }}", {}),
    ("err_add_str_int", "{{ 'a' + 1 }}", {}),
    ("err_undefined_plus", "{{ missing + 1 }}", {}),
    ("err_append_unsafe", "{% set l = [] %}{{ l.append(1) }}", {}),
    ("err_tojson_undefined", "{{ missing|tojson }}", {}),
    ("err_unpack", "{% for a, b in [[1, 2, 3]] %}{% endfor %}", {}),
    ("err_compare_types", "{{ 1 < 'a' }}", {}),
    ("err_div_zero", "{{ 1 / 0 }}", {}),
]

def run():
    out = []
    for cid, source, variables in CASES:
        case = {"id": cid, "template": source, "variables": variables}
        try:
            case["rendered"] = _cached_compile_jinja_template(source).render(**variables)
            case["error"] = None
        except Exception as e:  # the message our engine must reproduce
            case["rendered"] = None
            case["error"] = f"{type(e).__name__}: {e}"
        out.append(case)
    meta = {"generator": f"transformers {transformers.__version__} chat-template env, jinja2 {jinja2.__version__}",
            "note": "rendered = exact output; error = 'Type: message' when rendering raised"}
    path = pathlib.Path(__file__).with_name("jinja2_cases.json")
    path.write_text(json.dumps({"meta": meta, "cases": out}, ensure_ascii=False, indent=1) + "\n")
    print(f"{len(out)} cases, {sum(c['error'] is not None for c in out)} errors -> {path}")

if __name__ == "__main__":
    run()
