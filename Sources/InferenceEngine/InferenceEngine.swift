// Generation pipeline: sampling, stop conditions, thinking, streaming.
