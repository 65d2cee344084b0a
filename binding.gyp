{
  "targets": [
    {
      "target_name": "directord_native",
      "sources": ["native/src/addon.c"],
      "include_dirs": ["native/include"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
