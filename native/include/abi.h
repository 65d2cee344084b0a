/* The one contract between src/dataplane/native.ts and the C data plane; bump DD_ABI_VERSION on any change. */
#ifndef DIRECTORD_ABI_H
#define DIRECTORD_ABI_H
#define DD_ABI_VERSION 1
#endif
