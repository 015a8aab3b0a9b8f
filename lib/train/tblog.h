/* TensorBoard event files (scalars), written without TensorFlow: TFRecord
 * framing (length, masked CRC-32C of the length, data, masked CRC-32C of the
 * data) around hand-encoded tensorflow.Event protobufs:
 *   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
 *   Summary { repeated Value value = 1; }  Value { string tag = 1; float simple_value = 2; }
 * The file is events.out.tfevents.<unix time>.<host>.<pid> in the log directory;
 * its first event carries file_version "brain.Event:2". */
#ifndef TFSWA_TRAIN_TBLOG_H
#define TFSWA_TRAIN_TBLOG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    FILE *f;
    char *path;
} tblog;

/* Creates the directory if needed and a new event file in it. Returns 0, or
 * -1 with errno set. */
int tblog_open(tblog *t, const char *dir);
/* Appends one scalar event and flushes. Returns 0 or -1 (errno). */
int tblog_scalar(tblog *t, const char *tag, int64_t step, double value);
int tblog_close(tblog *t); /* 0, or -1 with errno when the final close failed */

/* CRC-32C (Castagnoli), and TFRecord's masking of it. */
uint32_t crc32c(uint32_t crc, const void *data, size_t n);
uint32_t crc32c_mask(uint32_t crc);

/* Encodes one Event with a scalar summary into buf (at least 64 + strlen(tag)
 * bytes); returns its length. Exposed for tests. */
size_t tblog_encode_scalar(unsigned char *buf, double wall_time, int64_t step, const char *tag, float value);

#endif
