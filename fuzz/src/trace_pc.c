/* gcc's edge coverage (-fsanitize-coverage=trace-pc, what fuzz/cc-wrapper gives
 * cfitsio) calls __sanitizer_cov_trace_pc at every basic block; libFuzzer only has a
 * stub for it that warns, so the wrapper renames the calls to teld_fuzz_trace_pc.
 * Without this file cfitsio's code would be invisible to the fuzzer. Each
 * caller's address is hashed into a table of 8-bit counters registered with
 * libFuzzer as clang's inline counters are, so a new cfitsio block is new coverage.
 * Compiled without instrumentation (build.rs), or it would call itself. */
#include <stdint.h>

#define SLOTS (1u << 15)

void __sanitizer_cov_8bit_counters_init(uint8_t *start, uint8_t *stop);
void __sanitizer_cov_pcs_init(const uintptr_t *beg, const uintptr_t *end);

static uint8_t counters[SLOTS];
/* libFuzzer wants one (pc, flags) pair per counter; the slot number stands in for
 * the pc, and flags 0 says no slot is a function entry (nothing to symbolise). */
static uintptr_t pcs[2 * SLOTS];

__attribute__((constructor)) static void teld_fuzz_trace_pc_register(void) {
    for (uintptr_t i = 0; i < SLOTS; i++) {
        pcs[2 * i] = i + 1;
        pcs[2 * i + 1] = 0;
    }
    __sanitizer_cov_8bit_counters_init(counters, counters + SLOTS);
    __sanitizer_cov_pcs_init(pcs, pcs + 2 * SLOTS);
}

void teld_fuzz_trace_pc(void) {
    uintptr_t pc = (uintptr_t)__builtin_return_address(0);
    counters[(pc ^ (pc >> 15)) & (SLOTS - 1)]++;
}
