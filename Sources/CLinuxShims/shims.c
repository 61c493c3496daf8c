// Anchor translation unit: SwiftPM needs one C source for the CLinuxShims target.
#include "CLinuxShims.h"
