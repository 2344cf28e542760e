# SPDX-License-Identifier: Apache-2.0
# CMake toolchain file for a Cortex-M4F (thumb, hard float) with Debian's
# arm-none-eabi-gcc and newlib, the same flags as boards/cortex-m4/build.sh.
# Used to cross-build mbedTLS with the firmware configuration:
#   boards/build-mbedtls.sh --firmware --toolchain boards/cortex-m4/toolchain.cmake build-mbedtls/cortex-m4
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
# libraries only: nothing is linked while CMake probes the compiler
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(CMAKE_C_FLAGS_INIT
    "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -ffunction-sections -fdata-sections")
set(CMAKE_C_FLAGS_RELEASE_INIT "-Os")
