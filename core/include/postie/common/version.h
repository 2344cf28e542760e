/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Postie's version: compile-time macros and the version of the library
 * actually linked.
 *
 * This header is the one place the version is written. The top-level
 * CMakeLists.txt reads the three numbers from it (project(VERSION) is set
 * from them), so the build, the library and `postie --version` cannot
 * disagree; to release, change the numbers here and nowhere else.
 *
 * Compare versions at compile time with POSTIE_VERSION_NUMBER:
 *   #if POSTIE_VERSION_NUMBER >= POSTIE_VERSION_MAKE(0, 2, 0)
 * and at run time with postie_version() (the library that was linked may be
 * newer than the header an application was built with).
 */
#ifndef POSTIE_VERSION_H
#define POSTIE_VERSION_H

#ifdef __cplusplus
extern "C" {
#endif

/* Each 0..255. Keep the three #define lines in this form: CMake reads them. */
#define POSTIE_VERSION_MAJOR 0
#define POSTIE_VERSION_MINOR 1
#define POSTIE_VERSION_PATCH 0

/* One integer that orders versions: 0xMMmmpp. */
#define POSTIE_VERSION_MAKE(major, minor, patch) (((major) << 16) | ((minor) << 8) | (patch))
#define POSTIE_VERSION_NUMBER \
    POSTIE_VERSION_MAKE(POSTIE_VERSION_MAJOR, POSTIE_VERSION_MINOR, POSTIE_VERSION_PATCH)

/* "MAJOR.MINOR.PATCH", made from the numbers above. */
#define POSTIE_VERSION_TEXT_(x) #x
#define POSTIE_VERSION_TEXT(x)  POSTIE_VERSION_TEXT_(x)
#define POSTIE_VERSION_STRING                 \
    POSTIE_VERSION_TEXT(POSTIE_VERSION_MAJOR) \
    "." POSTIE_VERSION_TEXT(POSTIE_VERSION_MINOR) "." POSTIE_VERSION_TEXT(POSTIE_VERSION_PATCH)

/*
 * The version of the library linked in, "MAJOR.MINOR.PATCH" (the
 * POSTIE_VERSION_STRING it was built with). Never NULL; a static string,
 * valid for the life of the program; safe to call from any thread.
 */
const char *postie_version(void);

#ifdef __cplusplus
}
#endif

#endif /* POSTIE_VERSION_H */
