// libFuzzer's driver entry (in the runtime -sanitize=fuzzer links): the targets call it from their own main.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));
