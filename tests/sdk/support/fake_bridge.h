// The fake bridge now ships with the SDK for frontend authors; this header
// keeps the old include path working.
#ifndef KILN_TESTS_SDK_SUPPORT_FAKE_BRIDGE_H_
#define KILN_TESTS_SDK_SUPPORT_FAKE_BRIDGE_H_

#include "kiln/sdk/testing/fake_bridge.h"

#endif  // KILN_TESTS_SDK_SUPPORT_FAKE_BRIDGE_H_
