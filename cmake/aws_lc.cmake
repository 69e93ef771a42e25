# AWS-LC: the project's only TLS and crypto library (DESIGN.md "Stack", docs/mtls.md), built
# from the pinned source once per build directory and linked statically. Release flags and no
# sanitizers even in the ASan test build (it is not the code under test, and a Debug AWS-LC is
# several times slower), ccache when there is one. `AwsLc::ssl` and `AwsLc::crypto` are what the
# project links; nothing links Debian's libssl/libcrypto.
include(ExternalProject)

set(PORTCULLIS_AWS_LC_COMMIT 3bda7bae9f04661d731d6bed7dac0bdb26137d1a)
set(PORTCULLIS_AWS_LC_VERSION "5.5.0")
set(PORTCULLIS_AWS_LC_TARBALL
    "${PROJECT_SOURCE_DIR}/../shared/deps/aws-lc/aws-lc-3bda7bae9f04.tar.xz"
    CACHE FILEPATH "The pinned AWS-LC source tarball (fetched from GitHub when absent)")
set(PORTCULLIS_AWS_LC_SHA256 4ecf2c3696ee771bb0e0b048711f0cf9e768102775ff8de9a15a936197b6edec)

if(EXISTS "${PORTCULLIS_AWS_LC_TARBALL}")
  set(aws_lc_source URL "${PORTCULLIS_AWS_LC_TARBALL}" URL_HASH
                    SHA256=${PORTCULLIS_AWS_LC_SHA256} DOWNLOAD_EXTRACT_TIMESTAMP TRUE)
  message(STATUS "AWS-LC ${PORTCULLIS_AWS_LC_VERSION}: ${PORTCULLIS_AWS_LC_TARBALL}")
else()
  set(aws_lc_source GIT_REPOSITORY https://github.com/aws/aws-lc.git GIT_TAG
                    ${PORTCULLIS_AWS_LC_COMMIT})
  message(STATUS "AWS-LC ${PORTCULLIS_AWS_LC_VERSION}: fetching ${PORTCULLIS_AWS_LC_COMMIT}")
endif()

set(aws_lc_prefix "${CMAKE_BINARY_DIR}/_deps/aws-lc")
set(aws_lc_install "${aws_lc_prefix}/install")
set(aws_lc_launcher "")
if(CCACHE_PROGRAM)
  set(aws_lc_launcher -DCMAKE_C_COMPILER_LAUNCHER=${CCACHE_PROGRAM}
                      -DCMAKE_CXX_COMPILER_LAUNCHER=${CCACHE_PROGRAM})
endif()

ExternalProject_Add(aws_lc_build
  ${aws_lc_source}
  PREFIX "${aws_lc_prefix}"
  INSTALL_DIR "${aws_lc_install}"
  CMAKE_GENERATOR Ninja
  CMAKE_ARGS -DCMAKE_BUILD_TYPE=Release
             -DCMAKE_INSTALL_PREFIX=<INSTALL_DIR>
             -DCMAKE_INSTALL_LIBDIR=lib
             -DCMAKE_C_COMPILER=${CMAKE_C_COMPILER}
             -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER}
             -DCMAKE_POSITION_INDEPENDENT_CODE=ON
             -DBUILD_SHARED_LIBS=OFF
             -DBUILD_TESTING=OFF
             -DBUILD_TOOL=OFF
             -DDISABLE_GO=ON
             -DDISABLE_PERL=ON
             ${aws_lc_launcher}
  BUILD_BYPRODUCTS "${aws_lc_install}/lib/libssl.a" "${aws_lc_install}/lib/libcrypto.a"
  UPDATE_COMMAND ""
  LOG_CONFIGURE TRUE
  LOG_BUILD TRUE
  LOG_INSTALL TRUE
  LOG_OUTPUT_ON_FAILURE TRUE)

# The include directory must exist when targets are generated, before the first build.
file(MAKE_DIRECTORY "${aws_lc_install}/include")

add_library(aws_lc_crypto STATIC IMPORTED GLOBAL)
set_target_properties(aws_lc_crypto PROPERTIES
  IMPORTED_LOCATION "${aws_lc_install}/lib/libcrypto.a"
  INTERFACE_INCLUDE_DIRECTORIES "${aws_lc_install}/include"
  INTERFACE_LINK_LIBRARIES Threads::Threads)
add_library(aws_lc_ssl STATIC IMPORTED GLOBAL)
set_target_properties(aws_lc_ssl PROPERTIES
  IMPORTED_LOCATION "${aws_lc_install}/lib/libssl.a"
  INTERFACE_INCLUDE_DIRECTORIES "${aws_lc_install}/include"
  INTERFACE_LINK_LIBRARIES aws_lc_crypto)

# Interface targets carry the build order (imported targets cannot).
add_library(portcullis_aws_lc_crypto INTERFACE)
target_link_libraries(portcullis_aws_lc_crypto INTERFACE aws_lc_crypto)
add_dependencies(portcullis_aws_lc_crypto aws_lc_build)
add_library(portcullis_aws_lc_ssl INTERFACE)
target_link_libraries(portcullis_aws_lc_ssl INTERFACE aws_lc_ssl portcullis_aws_lc_crypto)
add_dependencies(portcullis_aws_lc_ssl aws_lc_build)
add_library(AwsLc::crypto ALIAS portcullis_aws_lc_crypto)
add_library(AwsLc::ssl ALIAS portcullis_aws_lc_ssl)
