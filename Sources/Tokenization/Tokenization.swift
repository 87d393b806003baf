// Tokenizer library: tokenizer.json pipeline, added tokens, streaming detokenizer.
