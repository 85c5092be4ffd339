/* error: every error code of mpo in one table, its names and texts, and the assert for our bugs.
 *
 * A function that can fail returns 0 or a negative code from this table (-MPO_EIO, …) and, where
 * the caller passed a buffer, writes a one-line reason naming what failed. mpo_strerror gives the
 * code's general text; the reason says which file, key or peer. The wire refusals come first:
 * they are also the reasons a server counts refused messages by (stats and /metrics), and each
 * maps to the protocol's ErrorCode (common/wire.c). A fault from outside is a code, a counter and
 * a log line; a bug in our own code is MPO_ASSERT, which names the file and line and aborts. */
#ifndef MPO_ERROR_H
#define MPO_ERROR_H

/* X(code, name, text): why a message was refused; name is the stats label */
#define MPO_WIRE_REFUSALS(X)                                                                     \
    X(WIRE_MALFORMED, "malformed", "not a well-formed protocol message")                       \
    X(WIRE_WRONG_VERSION, "wrong_version", "another protocol version")                          \
    X(WIRE_WRONG_ENV, "wrong_env", "another environment than the server's")                      \
    X(WIRE_WRONG_SIZES, "wrong_sizes", "observation or action sizes differ from the server's")   \
    X(WIRE_BAD_LENGTHS, "bad_lengths", "array lengths disagree with n and the sizes")             \
    X(WIRE_TOO_LARGE, "too_large", "a message larger than max_message_bytes")                    \
    X(WIRE_NO_HELLO, "no_hello", "data from a peer that has not said Hello")                     \
    X(WIRE_UNEXPECTED, "unexpected", "a message this endpoint does not take")                    \
    X(WIRE_BAD_VALUE, "bad_value", "a value out of range (NaN, infinity, n = 0, …)")               \
    X(WIRE_OUT_OF_RANGE, "out_of_range", "an observation, action or reward beyond max_abs_value") \
    X(WIRE_ID_IN_USE, "id_in_use", "an actor id that another live process holds")

/* X(code, name, text): the errors of our own calls */
#define MPO_LOCAL_ERRORS(X)                                                                      \
    X(MPO_ENOMEM, "no_memory", "out of memory")                                                  \
    X(MPO_EINVAL, "invalid", "an invalid argument or configuration value")                      \
    X(MPO_EIO, "io", "a file could not be read or written")                                     \
    X(MPO_EFORMAT, "bad_file", "a file that is not what it should be (truncated, other sizes)") \
    X(MPO_ESOCKET, "socket", "a socket could not be made, configured, bound or connected")      \
    X(MPO_ETIMEOUT, "timeout", "no answer in time")                                            \
    X(MPO_EREFUSED, "refused", "the peer refused the request")                                 \
    X(MPO_EINTR, "interrupted", "interrupted by a signal")                                     \
    X(MPO_ENOENV, "unknown_env", "no such environment")

#define MPO_ERROR_ENUM(code, name, text) code,
typedef enum {
    MPO_OK = 0,
    MPO_WIRE_REFUSALS(MPO_ERROR_ENUM) WIRE_REJECTION_COUNT, /* refusals are 1 .. WIRE_REJECTION_COUNT-1 */
    MPO_ERROR_LOCAL_BEFORE_ = WIRE_REJECTION_COUNT - 1,
    MPO_LOCAL_ERRORS(MPO_ERROR_ENUM) MPO_ERROR_COUNT
} mpo_error_t;
#define WIRE_OK MPO_OK

/* "malformed", "no_memory", …; "ok" for 0; either sign of a code */
const char *mpo_error_name(int code);
/* the code's text: "out of memory", …; "unknown error" for a code not in the table */
const char *mpo_strerror(int code);

/* a bug in our own code: print "file:line: internal error: expr" and abort */
_Noreturn void mpo_assert_fail(const char *expr, const char *file, int line);
#define MPO_ASSERT(cond)                                         \
    do {                                                         \
        if (!(cond))                                             \
            mpo_assert_fail(#cond, __FILE__, __LINE__);          \
    } while (0)

#endif
