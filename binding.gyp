{
  "variables": {
    "have_xdp%": "<!(pkg-config --exists libxdp libbpf && echo 1 || echo 0)"
  },
  "targets": [
    {
      "target_name": "directord_native",
      "sources": [
        "native/src/addon.c",
        "native/src/addon-loop.c",
        "native/src/addon-conns.c",
        "native/src/core.c",
        "native/src/conntable.c",
        "native/src/schedulers.c",
        "native/src/policy.c",
        "native/src/frame.c",
        "native/src/afpacket.c",
        "native/src/sdnotify.c",
        "native/src/afpacket-filter.c"
      ],
      "include_dirs": ["native/include", "native/src"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11", "-pthread", "-fvisibility=hidden"],
      "defines": ["NAPI_VERSION=8"],
      "libraries": ["-lpcap", "-lpthread"]
    },
    {
      "target_name": "directord_bench",
      "sources": [
        "native/src/probes.c",
        "native/src/frame.c",
        "native/src/core.c",
        "native/src/conntable.c",
        "native/src/schedulers.c",
        "native/src/policy.c"
      ],
      "include_dirs": ["native/include", "native/src"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11", "-pthread", "-fvisibility=hidden"],
      "defines": ["NAPI_VERSION=8"],
      "libraries": ["-lpthread"]
    }
  ],
  "conditions": [
    ["have_xdp==1", {
      "targets": [
        {
          "target_name": "directord_afxdp",
          "sources": [
            "native/src/xdp_addon.c",
            "native/src/afxdp.c",
            "native/src/afxdp_queue.c",
            "native/src/afxdp_attach.c",
            "native/src/core.c",
            "native/src/conntable.c",
            "native/src/schedulers.c",
            "native/src/policy.c",
            "native/src/frame.c"
          ],
          "include_dirs": ["native/include", "native/src"],
          "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11", "-pthread", "-fvisibility=hidden"],
          "defines": ["NAPI_VERSION=8"],
          "libraries": ["-lxdp", "-lbpf", "-lpthread"]
        }
      ]
    }]
  ]
}
