/* The table handle behind the JS external of directord_native.node; directord_afxdp.node (built from the same
 * sources) reads the table through it, so both addons must come from one build (both check DD_ABI_VERSION). */
#ifndef DIRECTORD_HANDLE_H
#define DIRECTORD_HANDLE_H
#include "core.h"

struct dd_loop;

struct handle {
  struct dd_table *t;
  struct dd_loop *loop;
};

#endif
