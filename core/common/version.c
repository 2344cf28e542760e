/* SPDX-License-Identifier: Apache-2.0 */
#include "postie/common/version.h"

const char *postie_version(void)
{
    return POSTIE_VERSION_STRING;
}
