# Enforces DESIGN.md's dependency direction at configure time: a module may
# not reach, directly or through its dependencies, a module it must not use.
#
#   llb  <-  solver-core  <-  gateway
#   llb  <-  sdk          <-  frontends/*

# Collects the kiln targets `target` links, transitively, into `out_var`.
function(_kiln_link_closure target out_var)
  set(seen "")
  set(queue ${target})
  while(queue)
    list(POP_FRONT queue t)
    if(NOT TARGET ${t} OR t IN_LIST seen)
      continue()
    endif()
    list(APPEND seen ${t})
    get_target_property(type ${t} TYPE)
    set(deps "")
    if(NOT type STREQUAL "INTERFACE_LIBRARY")
      get_target_property(direct ${t} LINK_LIBRARIES)
      if(direct)
        list(APPEND deps ${direct})
      endif()
    endif()
    get_target_property(iface ${t} INTERFACE_LINK_LIBRARIES)
    if(iface)
      list(APPEND deps ${iface})
    endif()
    foreach(d IN LISTS deps)
      string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" d "${d}")
      list(APPEND queue ${d})
    endforeach()
  endwhile()
  set(${out_var} ${seen} PARENT_SCOPE)
endfunction()

function(kiln_forbid_links target)
  _kiln_link_closure(${target} closure)
  foreach(forbidden IN LISTS ARGN)
    if(forbidden IN_LIST closure)
      message(FATAL_ERROR "${target} must not depend on ${forbidden} (see DESIGN.md: "
                          "llb <- solver-core <- gateway; llb <- sdk <- frontends)")
    endif()
  endforeach()
endfunction()

function(kiln_check_layering)
  kiln_forbid_links(kiln_llb kiln_solver kiln_gateway kiln_sdk kiln_dockerfile kiln_recipe)
  kiln_forbid_links(kiln_solver kiln_gateway kiln_sdk kiln_dockerfile kiln_recipe)
  kiln_forbid_links(kiln_gateway kiln_sdk kiln_dockerfile kiln_recipe)
  kiln_forbid_links(kiln_sdk kiln_solver kiln_gateway kiln_dockerfile kiln_recipe)
  kiln_forbid_links(kiln_dockerfile kiln_solver kiln_gateway kiln_recipe)
  kiln_forbid_links(kiln_recipe kiln_solver kiln_gateway kiln_dockerfile)
endfunction()
