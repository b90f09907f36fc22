/*
 * The machine's FP32 FMA ceiling: the yardstick for "% of peak" in BENCHMARKS.md.
 *
 * Each thread runs 10 independent chains of fused multiply-adds (2 FLOP per lane) so that both FMA pipes stay busy
 * despite the 4-cycle latency, and is timed in its own CPU time. Prints one JSON line with the vector width used.
 * Built with AVX-512 enabled (e.g. -march=native on an AVX-512 CPU) it uses 512-bit FMAs (16 floats), which is what
 * ONNX Runtime's MLAS runs on such CPUs; otherwise 256-bit AVX2 FMAs (8 floats). Some AVX-512 CPUs (Zen 4) split a
 * 512-bit FMA in two, others (Zen 5, recent Xeons) do not: measure, don't assume. Record the width with the figure.
 *
 *   gcc -O2 -mavx2 -mfma -pthread -o /tmp/fma_ceiling tools/bench/fma_ceiling.c && /tmp/fma_ceiling 2       # 256-bit
 *   gcc -O2 -march=native -pthread -o /tmp/fma_ceiling tools/bench/fma_ceiling.c && /tmp/fma_ceiling 2      # widest
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHAINS 10

#ifdef __AVX512F__
typedef __m512 vec;
#define LANES 16
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define STORE _mm512_storeu_ps
#else
typedef __m256 vec;
#define LANES 8
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
#define STORE _mm256_storeu_ps
#endif
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
    vec c0 = SET1(1.000f), c1 = SET1(1.001f), c2 = SET1(1.002f),
           c3 = SET1(1.003f), c4 = SET1(1.004f), c5 = SET1(1.005f),
           c6 = SET1(1.006f), c7 = SET1(1.007f), c8 = SET1(1.008f),
           c9 = SET1(1.009f);
    const vec a = SET1(0.999999f), b = SET1(1e-7f);
    double t0 = thread_seconds();
    for (long it = 0; it < ITERS / CHAINS; it++) {
        c0 = FMA(c0, a, b); c1 = FMA(c1, a, b); c2 = FMA(c2, a, b);
        c3 = FMA(c3, a, b); c4 = FMA(c4, a, b); c5 = FMA(c5, a, b);
        c6 = FMA(c6, a, b); c7 = FMA(c7, a, b); c8 = FMA(c8, a, b);
        c9 = FMA(c9, a, b);
    }
    double t1 = thread_seconds();
    vec acc[CHAINS] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9};
    float s = 0;
    for (int i = 0; i < CHAINS; i++) {
        float v[LANES];
        STORE(v, acc[i]);
        s += v[0];
    }
    r->sink = s;
    r->gflops = (double) (ITERS / CHAINS) * CHAINS * LANES * 2 / (t1 - t0) / 1e9;
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
    printf("{\"bench\":\"fma_ceiling\",\"width_bits\":%d,\"threads\":%d,\"gflops\":%.1f,\"gflops_per_thread\":%.1f,"
           "\"resnet50_notop_images_per_s_at_8.17_gflop\":%.1f,\"sink\":%.1f}\n",
           LANES * 32, n, total, total / n, total / 8.17, sink);
    return 0;
}
