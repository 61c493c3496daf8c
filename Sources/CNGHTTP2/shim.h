// libnghttp2 for Swift: its one public header (1.52 has no function-like macros the proxy needs).
#ifndef CANARYGATE_CNGHTTP2_SHIM_H
#define CANARYGATE_CNGHTTP2_SHIM_H

#include <nghttp2/nghttp2.h>

#endif
