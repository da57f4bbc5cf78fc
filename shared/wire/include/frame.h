/* frame.h -- length-prefixed frames over pipes (4-byte big-endian length, then payload).
 *
 * Used between the worker, the sandbox runner, the sandbox child and its runs.
 * Every frame has a hard maximum size chosen by the reader.
 */
#ifndef JT_FRAME_H
#define JT_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define JT_FRAME_MAX_BYTES (64u * 1024 * 1024) /* absolute ceiling for any frame */

/* Write one frame of len bytes to a blocking fd (partial writes and EINTR are
 * retried). Returns JT_OK, JT_ERR_TOO_LARGE (len > JT_FRAME_MAX_BYTES) or
 * JT_ERR_IO (errno preserved; EPIPE when the reader is gone). */
jt_status_t jt_frame_write(int fd, const void *data, size_t len);

/* Incremental reader: feed it from a (possibly non-blocking) fd until a whole
 * frame is there. Caller storage; init with jt_frame_reader_init, free with
 * jt_frame_reader_cleanup. */
typedef struct {
    uint8_t header[4];
    size_t header_have;
    uint8_t *payload; /* malloc'd once the length is known */
    size_t payload_len;
    size_t payload_have;
    size_t max_len;   /* frames longer than this are a protocol error */
} jt_frame_reader_t;

void jt_frame_reader_init(jt_frame_reader_t *r, size_t max_len);
void jt_frame_reader_cleanup(jt_frame_reader_t *r);

/* Read what is available from fd (one read(2) call at most). Returns:
 *   JT_OK with *done = 1: a frame is complete; take it with jt_frame_reader_take;
 *   JT_OK with *done = 0: need more bytes (EAGAIN, or a partial frame);
 *   JT_ERR_EOF: the peer closed (a partial frame, if any, is discarded);
 *   JT_ERR_TOO_LARGE: the announced length exceeds max_len;
 *   JT_ERR_IO / JT_ERR_NOMEM.
 * After any error the stream is out of step: only jt_frame_reader_cleanup
 * may follow. */
jt_status_t jt_frame_reader_read(jt_frame_reader_t *r, int fd, int *done);

/* Hand over the completed frame: *data (malloc'd, caller frees; never NULL,
 * even for an empty frame) and *len. The reader is ready for the next frame. */
void jt_frame_reader_take(jt_frame_reader_t *r, uint8_t **data, size_t *len);

/* Blocking convenience: read one whole frame from fd, waiting at most
 * timeout_ms (-1 = forever) in total. Returns JT_OK (caller frees *data),
 * JT_ERR_TIMEOUT, JT_ERR_EOF, JT_ERR_TOO_LARGE, JT_ERR_IO or JT_ERR_NOMEM. */
jt_status_t jt_frame_read(int fd, size_t max_len, int timeout_ms, uint8_t **data, size_t *len);

#endif
