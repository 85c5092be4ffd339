#include "common/error.h"

#include <stdio.h>
#include <stdlib.h>

#define MPO_ERROR_NAME(code, name, text) [code] = name,
#define MPO_ERROR_TEXT(code, name, text) [code] = text,
static const char *const s_names[MPO_ERROR_COUNT] = {
    [MPO_OK] = "ok", MPO_WIRE_REFUSALS(MPO_ERROR_NAME) MPO_LOCAL_ERRORS(MPO_ERROR_NAME)};
static const char *const s_texts[MPO_ERROR_COUNT] = {
    [MPO_OK] = "no error", MPO_WIRE_REFUSALS(MPO_ERROR_TEXT) MPO_LOCAL_ERRORS(MPO_ERROR_TEXT)};

static int s_index(int code) { return code < 0 ? -code : code; }

const char *mpo_error_name(int code) {
    int i = s_index(code);
    return i < MPO_ERROR_COUNT ? s_names[i] : "unknown";
}

const char *mpo_strerror(int code) {
    int i = s_index(code);
    return i < MPO_ERROR_COUNT ? s_texts[i] : "unknown error";
}

void mpo_assert_fail(const char *expr, const char *file, int line) {
    fprintf(stderr, "%s:%d: internal error: %s is false (a bug in mpo; please report it)\n", file, line, expr);
    fflush(stderr);
    abort();
}
