{
  "targets": [
    {
      "target_name": "tunshim",
      "sources": ["native-shims/tun.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"]
    }
  ]
}
