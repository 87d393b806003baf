// llama-bench stand-in (llama-bench not built yet): pp512 = one 512-token batch, tg128 = 128 single-token
// decodes, 2 threads, same libllama; prints tokens/s of each repetition. llbench MODEL REPS
#include "llama.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(int argc, char **argv) {
    int reps = argc > 2 ? atoi(argv[2]) : 2;
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    struct llama_model *model = llama_model_load_from_file(argv[1], mp);
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 1024; cp.n_batch = 512; cp.n_ubatch = 512; cp.n_threads = 2; cp.n_threads_batch = 2;
    struct llama_context *ctx = llama_init_from_model(model, cp);
    int nv = llama_vocab_n_tokens(llama_model_get_vocab(model));
    llama_batch batch = llama_batch_init(512, 0, 1);
    for (int r = 0; r <= reps; r++) {
        llama_memory_clear(llama_get_memory(ctx), true);
        batch.n_tokens = 512;
        for (int i = 0; i < 512; i++) { batch.token[i] = rand() % nv; batch.pos[i] = i; batch.n_seq_id[i] = 1; batch.seq_id[i][0] = 0; batch.logits[i] = i == 511; }
        double t0 = now();
        llama_decode(ctx, batch);
        double pp = 512 / (now() - t0);
        llama_memory_clear(llama_get_memory(ctx), true);
        t0 = now();
        for (int i = 0; i < 128; i++) {
            batch.n_tokens = 1; batch.token[0] = rand() % nv; batch.pos[0] = i; batch.logits[0] = 1;
            llama_decode(ctx, batch);
        }
        double tg = 128 / (now() - t0);
        if (r > 0) printf("rep %d: pp512 %.1f tok/s  tg128 %.2f tok/s\n", r, pp, tg); // rep 0 = warm-up
        fflush(stdout);
    }
    return 0;
}
