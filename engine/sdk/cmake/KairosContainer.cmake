# KairosContainer.cmake: builds a Kairos container (docs/containers.md section 1) — a Qt plugin
# MODULE library of SDK processors with its metadata embedded as Qt plugin metadata, so servers
# and workers read it without running the library's code.
#
#   include(/path/to/kairos/engine/sdk/cmake/KairosContainer.cmake)
#   kairos_add_container(hello NAME hello VERSION 1.0
#       PROCESSORS "greet:standalone:Says hello" "sum:mapReduce:Sums 1..n"
#       SOURCES hello.cpp)
#
# The source declares the plugin with
#   Q_PLUGIN_METADATA(IID KAIROS_CONTAINER_IID FILE "kairos-container.json")
# and moc finds the generated kairos-container.json through the target's include path.
#
# Arguments:
#   NAME        container name, [A-Za-z0-9][A-Za-z0-9._-]{0,63}
#   VERSION     free version label (at most 64 characters), shown in logs and kairosctl
#   PROCESSORS  one "<name>:<shape>[:<description>]" per processor; shape is standalone,
#               broadcast, map or mapReduce; the description may contain ':' but not ';'
#   SOURCES     the sources of the library
#   OUTPUT_NAME file base name (default: the target name); the file is <OUTPUT_NAME>.so
#   OUTPUT_DIRECTORY  where the .so lands (default: CMAKE_LIBRARY_OUTPUT_DIRECTORY or the
#               target's binary dir)
# For Kairos's own bad test fixtures only:
#   SDK_VERSION <n>   write this "sdk" instead of KAIROS_SDK_VERSION of kairos/container.h
#   IID <iid>         generate kairos_fixture_iid.h defining KAIROS_FIXTURE_IID as <iid>, for
#                     Q_PLUGIN_METADATA(IID KAIROS_FIXTURE_IID ...)
#   UNCHECKED         write the metadata as given, without checking names and shapes
#
# Works inside the Kairos build and standalone (only Qt 6 Core and this SDK folder are needed).
include_guard(GLOBAL)
if(CMAKE_VERSION VERSION_LESS 3.19) # string(JSON), file(CONFIGURE), CMAKE_CURRENT_FUNCTION_LIST_DIR
    message(FATAL_ERROR "KairosContainer.cmake needs CMake 3.19 or newer")
endif()

if(NOT TARGET Qt6::Core)
    find_package(Qt6 6.4 REQUIRED COMPONENTS Core)
endif()

# "a\"b" for a JSON string literal; control characters are not expected in these fields.
function(_kairos_json_string out text)
    string(REPLACE "\\" "\\\\" text "${text}")
    string(REPLACE "\"" "\\\"" text "${text}")
    string(REPLACE "\n" "\\n" text "${text}")
    string(REPLACE "\t" "\\t" text "${text}")
    set(${out} "\"${text}\"" PARENT_SCOPE)
endfunction()

function(kairos_add_container target)
    cmake_parse_arguments(PARSE_ARGV 1 C "UNCHECKED"
        "NAME;VERSION;OUTPUT_NAME;OUTPUT_DIRECTORY;SDK_VERSION;IID" "PROCESSORS;SOURCES")
    set(where "kairos_add_container(${target})")
    if(C_UNPARSED_ARGUMENTS)
        message(FATAL_ERROR "${where}: unknown arguments: ${C_UNPARSED_ARGUMENTS}")
    endif()
    foreach(required NAME VERSION PROCESSORS SOURCES)
        if(NOT DEFINED C_${required} OR "${C_${required}}" STREQUAL "")
            message(FATAL_ERROR "${where}: ${required} is required")
        endif()
    endforeach()

    # The SDK folder is the one holding kairos/ (this file lives in <sdk>/cmake).
    get_filename_component(sdk_dir "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/.." ABSOLUTE)
    if(NOT EXISTS "${sdk_dir}/kairos/container.h")
        message(FATAL_ERROR "${where}: ${sdk_dir}/kairos/container.h not found")
    endif()

    set(name_regex "^[A-Za-z0-9][A-Za-z0-9._-]*$")
    if(NOT C_UNCHECKED)
        string(LENGTH "${C_NAME}" name_length)
        if(NOT C_NAME MATCHES "${name_regex}" OR name_length GREATER 64)
            message(FATAL_ERROR
                "${where}: NAME '${C_NAME}' must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}")
        endif()
        string(LENGTH "${C_VERSION}" version_length)
        if(version_length GREATER 64)
            message(FATAL_ERROR "${where}: VERSION must be at most 64 characters")
        endif()
    endif()

    if(DEFINED C_SDK_VERSION)
        set(sdk_version "${C_SDK_VERSION}")
    else()
        file(STRINGS "${sdk_dir}/kairos/container.h" sdk_line
             REGEX "^#define KAIROS_SDK_VERSION [0-9]+")
        if(NOT sdk_line MATCHES "KAIROS_SDK_VERSION ([0-9]+)")
            message(FATAL_ERROR "${where}: no KAIROS_SDK_VERSION in ${sdk_dir}/kairos/container.h")
        endif()
        set(sdk_version "${CMAKE_MATCH_1}")
    endif()

    # The MetaData object of docs/containers.md section 1.
    set(processors "[]")
    set(index 0)
    set(seen "")
    foreach(spec IN LISTS C_PROCESSORS)
        if(NOT spec MATCHES "^([^:]*):([^:]*)(:(.*))?$")
            message(FATAL_ERROR
                "${where}: PROCESSORS entry '${spec}' must be <name>:<shape>[:<description>]")
        endif()
        set(pname "${CMAKE_MATCH_1}")
        set(pshape "${CMAKE_MATCH_2}")
        set(pdescription "${CMAKE_MATCH_4}")
        if(NOT C_UNCHECKED)
            string(LENGTH "${pname}" pname_length)
            if(NOT pname MATCHES "${name_regex}" OR pname_length GREATER 64)
                message(FATAL_ERROR "${where}: processor name '${pname}' must match "
                                    "[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
            endif()
            if(NOT pshape MATCHES "^(standalone|broadcast|map|mapReduce)$")
                message(FATAL_ERROR "${where}: processor '${pname}' has shape '${pshape}'; "
                                    "expected standalone, broadcast, map or mapReduce")
            endif()
            if(pname IN_LIST seen)
                message(FATAL_ERROR "${where}: processor '${pname}' is listed twice")
            endif()
        endif()
        list(APPEND seen "${pname}")
        _kairos_json_string(jname "${pname}")
        _kairos_json_string(jshape "${pshape}")
        _kairos_json_string(jdescription "${pdescription}")
        string(JSON processors SET "${processors}" ${index}
               "{\"name\": ${jname}, \"shape\": ${jshape}, \"description\": ${jdescription}}")
        math(EXPR index "${index} + 1")
    endforeach()
    _kairos_json_string(jcontainer "${C_NAME}")
    _kairos_json_string(jversion "${C_VERSION}")
    set(metadata "{}")
    string(JSON metadata SET "${metadata}" name "${jcontainer}")
    string(JSON metadata SET "${metadata}" version "${jversion}")
    string(JSON metadata SET "${metadata}" sdk "${sdk_version}")
    string(JSON metadata SET "${metadata}" processors "${processors}")

    # One folder per target: several containers may be built from one source folder, and moc
    # must find each target's own kairos-container.json through its include path. Written only
    # when it changes, so moc reruns exactly then (AUTOMOC tracks Q_PLUGIN_METADATA files).
    set(meta_dir "${CMAKE_CURRENT_BINARY_DIR}/${target}_kairos_container")
    file(CONFIGURE OUTPUT "${meta_dir}/kairos-container.json" CONTENT "${metadata}\n")
    if(DEFINED C_IID)
        _kairos_json_string(jiid "${C_IID}")
        file(CONFIGURE OUTPUT "${meta_dir}/kairos_fixture_iid.h"
             CONTENT "#pragma once\n#define KAIROS_FIXTURE_IID ${jiid}\n")
    endif()

    add_library(${target} MODULE ${C_SOURCES})
    target_include_directories(${target} PRIVATE "${meta_dir}" "${sdk_dir}")
    target_link_libraries(${target} PRIVATE Qt6::Core)
    target_compile_features(${target} PRIVATE cxx_std_17)
    # Hidden visibility: Qt exports the plugin entry points itself; nothing else of the
    # container should leak into the worker's or host's symbol space.
    set_target_properties(${target} PROPERTIES
        AUTOMOC ON
        PREFIX ""
        SUFFIX ".so"
        CXX_VISIBILITY_PRESET hidden
        VISIBILITY_INLINES_HIDDEN ON)
    if(C_OUTPUT_NAME)
        set_target_properties(${target} PROPERTIES OUTPUT_NAME "${C_OUTPUT_NAME}")
    endif()
    if(C_OUTPUT_DIRECTORY)
        set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${C_OUTPUT_DIRECTORY}")
    endif()
    set_target_properties(${target} PROPERTIES
        KAIROS_CONTAINER_NAME "${C_NAME}"
        KAIROS_CONTAINER_VERSION "${C_VERSION}"
        KAIROS_CONTAINER_METADATA_FILE "${meta_dir}/kairos-container.json")
endfunction()
