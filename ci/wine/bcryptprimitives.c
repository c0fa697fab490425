/*
 * Minimal bcryptprimitives.dll for Wine 8 (Debian bookworm), which ships none.
 *
 * Rust std (1.78+) on Windows imports ProcessPrng from bcryptprimitives.dll
 * for HashMap keys and other randomness. Windows 10+ has it; Wine 8 does not,
 * so every Rust exe fails to load there. This shim provides ProcessPrng and
 * forwards to RtlGenRandom (exported by advapi32 as SystemFunction036).
 *
 * Build (ci/setup-wine.sh does this):
 *   x86_64-w64-mingw32-gcc -shared -O2 -s -o bcryptprimitives.dll \
 *       bcryptprimitives.c bcryptprimitives.def -ladvapi32
 * Only for running tests under Wine; never ship it to real Windows.
 */
#include <windows.h>

/* RtlGenRandom: declared in <ntsecapi.h> as a macro for SystemFunction036. */
BOOLEAN WINAPI SystemFunction036(PVOID RandomBuffer, ULONG RandomBufferLength);

BOOL WINAPI ProcessPrng(PBYTE pbData, SIZE_T cbData)
{
    /* RtlGenRandom takes a ULONG length: feed larger requests in chunks. */
    while (cbData > 0) {
        ULONG chunk = cbData > 0x40000000u ? 0x40000000u : (ULONG)cbData;
        if (!SystemFunction036(pbData, chunk)) {
            /* The real ProcessPrng never fails (it is documented to always
             * return TRUE, and callers such as Rust std ignore the result),
             * so handing back unfilled bytes would fail silently. Die loudly. */
            static const char msg[] = "bcryptprimitives shim: RtlGenRandom failed\r\n";
            DWORD written;
            WriteFile(GetStdHandle(STD_ERROR_HANDLE), msg, sizeof msg - 1, &written, NULL);
            TerminateProcess(GetCurrentProcess(), 0xC0000001u /* STATUS_UNSUCCESSFUL */);
        }
        pbData += chunk;
        cbData -= chunk;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
    (void)inst; (void)reason; (void)reserved;
    return TRUE;
}
