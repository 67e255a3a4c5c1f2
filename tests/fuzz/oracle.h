/* The fuzzers' oracle (oracle.c). */
#ifndef ORACLE_H
#define ORACLE_H

#include <stddef.h>
#include <stdint.h>

size_t	 utf8_decode(const uint8_t *, size_t, uint32_t *);

#endif /* ORACLE_H */
