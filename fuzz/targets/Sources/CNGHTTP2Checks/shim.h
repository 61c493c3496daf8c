// libnghttp2's public field validators (nghttp2_check_*), for the fuzz targets only.
#include <nghttp2/nghttp2.h>
