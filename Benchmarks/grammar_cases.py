#!/usr/bin/env python3
"""Writes Benchmarks/grammar-cases.json: the schemas (and one valid document each) that `qwenkit bench --grammar`
and `Benchmarks/grammar_xgrammar.py` both measure. Documents are compact JSON (the whitespace both sides allow)."""
import json, os

def tool(i):
    return {"name": f"tool_{i:02d}", "parameters": {"type": "object", "properties": {
        "query": {"type": "string"}, "limit": {"type": "integer", "minimum": 1, "maximum": 100},
        "mode": {"enum": ["fast", "exact", "fuzzy"]}, "verbose": {"type": "boolean"}}, "required": ["query", "limit"]}}

tools = [tool(i) for i in range(20)]
enum_values = [f"item-{i:04d}-{'abcdefghij'[i % 10]}" for i in range(1000)]
cases = [
    {"name": "flat object", "schema": {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
        "email": {"type": "string"}, "active": {"type": "boolean"}}, "required": ["name", "age", "email", "active"]},
     "doc": {"name": "Ada Lovelace", "age": 36, "email": "ada@example.org", "active": True}},
    {"name": "nested + arrays", "schema": {"type": "object", "properties": {
        "id": {"type": "integer"}, "customer": {"type": "object", "properties": {"name": {"type": "string"}, "address": {"type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}, "zip": {"type": "string"}}, "required": ["street", "city", "zip"]}},
            "required": ["name", "address"]},
        "items": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"},
            "price": {"type": "number"}}, "required": ["sku", "qty", "price"]}},
        "tags": {"type": "array", "items": {"type": "string"}}}, "required": ["id", "customer", "items", "tags"]},
     "doc": {"id": 1042, "customer": {"name": "Grace Hopper", "address": {"street": "1 Navy Way", "city": "Arlington", "zip": "22201"}},
             "items": [{"sku": "A-1", "qty": 2, "price": 9.5}, {"sku": "B-22", "qty": 1, "price": 120.0}], "tags": ["priority", "gift"]}},
    {"name": "recursive $ref", "schema": {"$ref": "#/$defs/node", "$defs": {"node": {"type": "object", "properties": {
        "name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}, "required": ["name", "children"]}}},
     "doc": {"name": "root", "children": [{"name": "a", "children": [{"name": "a1", "children": []}]}, {"name": "b", "children": []}]}},
    {"name": "enum 1000", "schema": {"type": "object", "properties": {"item": {"enum": enum_values}}, "required": ["item"]},
     "doc": {"item": enum_values[777]}},
    # The Qwen XML tool-call grammar (Swift) vs the same 20 tools as a JSON anyOf of {"name", "arguments"} (xgrammar).
    {"name": "20 tools", "tools": tools,
     "schema": {"anyOf": [{"type": "object", "properties": {"name": {"const": t["name"]}, "arguments": t["parameters"]},
                           "required": ["name", "arguments"]} for t in tools]},
     "doc": {"name": "tool_13", "arguments": {"query": "weather in Paris tomorrow", "limit": 5, "mode": "fast"}},
     "xml": "<tool_call>\n<function=tool_13>\n<parameter=query>\nweather in Paris tomorrow\n</parameter>\n<parameter=limit>\n5\n</parameter>\n<parameter=mode>\nfast\n</parameter>\n</function>\n</tool_call>"},
]
for c in cases:
    c["text"] = json.dumps(c["doc"], separators=(",", ":"), ensure_ascii=False)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "grammar-cases.json")
json.dump(cases, open(out, "w"), indent=1)
print(out)
