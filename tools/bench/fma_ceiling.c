/*
 * The machine's FP32 FMA ceiling: the yardstick for "% of peak" in BENCHMARKS.md.
 *
 * Each thread runs 10 independent chains of 256-bit fused multiply-adds (8 floats, 2 FLOP each per lane) so that
 * both FMA pipes stay busy despite the 4-cycle latency, and is timed in its own CPU time. Prints one JSON line.
 * AVX-512 machines have wider FMAs; this measures the AVX2 width only, which is what ONNX Runtime's MLAS and
 * OpenBLAS use on a CPU without AVX-512.
 *
 *   gcc -O2 -mavx2 -mfma -pthread -o /tmp/fma_ceiling tools/bench/fma_ceiling.c && /tmp/fma_ceiling 2
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHAINS 10
#define ITERS 200000000L

static double thread_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct { double gflops; float sink; } result_t;

static void *run(void *arg) {
    result_t *r = arg;
    /* Ten named registers, not an array: an array may live in memory and serialise the chains. */
    __m256 c0 = _mm256_set1_ps(1.000f), c1 = _mm256_set1_ps(1.001f), c2 = _mm256_set1_ps(1.002f),
           c3 = _mm256_set1_ps(1.003f), c4 = _mm256_set1_ps(1.004f), c5 = _mm256_set1_ps(1.005f),
           c6 = _mm256_set1_ps(1.006f), c7 = _mm256_set1_ps(1.007f), c8 = _mm256_set1_ps(1.008f),
           c9 = _mm256_set1_ps(1.009f);
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    double t0 = thread_seconds();
    for (long it = 0; it < ITERS / CHAINS; it++) {
        c0 = _mm256_fmadd_ps(c0, a, b); c1 = _mm256_fmadd_ps(c1, a, b); c2 = _mm256_fmadd_ps(c2, a, b);
        c3 = _mm256_fmadd_ps(c3, a, b); c4 = _mm256_fmadd_ps(c4, a, b); c5 = _mm256_fmadd_ps(c5, a, b);
        c6 = _mm256_fmadd_ps(c6, a, b); c7 = _mm256_fmadd_ps(c7, a, b); c8 = _mm256_fmadd_ps(c8, a, b);
        c9 = _mm256_fmadd_ps(c9, a, b);
    }
    double t1 = thread_seconds();
    __m256 acc[CHAINS] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9};
    float s = 0;
    for (int i = 0; i < CHAINS; i++) {
        float v[8];
        _mm256_storeu_ps(v, acc[i]);
        s += v[0];
    }
    r->sink = s;
    r->gflops = (double) (ITERS / CHAINS) * CHAINS * 8 * 2 / (t1 - t0) / 1e9;
    return NULL;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 1;
    if (n < 1 || n > 256) {
        fprintf(stderr, "usage: %s [threads]\n", argv[0]);
        return 2;
    }
    pthread_t th[256];
    result_t res[256];
    for (int i = 0; i < n; i++) pthread_create(&th[i], NULL, run, &res[i]);
    double total = 0, sink = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        total += res[i].gflops;
        sink += res[i].sink;
    }
    printf("{\"bench\":\"fma_ceiling\",\"threads\":%d,\"gflops\":%.1f,\"gflops_per_thread\":%.1f,"
           "\"resnet50_notop_images_per_s_at_8.17_gflop\":%.1f,\"sink\":%.1f}\n",
           n, total, total / n, total / 8.17, sink);
    return 0;
}
