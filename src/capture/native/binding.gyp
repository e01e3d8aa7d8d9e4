{
  # Built by `node-gyp rebuild -C src/capture/native` (npm install / npm run build:native).
  # `scripts/asan.sh build` rebuilds it with PCAPD_SANITIZE=1 for AddressSanitizer + UBSan.
  "variables": {
    "pcapd_sanitize%": "<!(node -p \"process.env.PCAPD_SANITIZE || '0'\")"
  },
  "targets": [
    {
      "target_name": "pcapd_native",
      "sources": [
        "addon.cc",
        "capture_wrap.cc",
        "capture_session.cc",
        "capture_output.cc",
        "flow_tracker.cc",
        "tcp_segment.cc",
        "filter_program.cc",
        "lookback_ring.cc",
        "warm_capture.cc",
        "warm_reader.cc",
        "warm_interface_wrap.cc",
        "live_source.cc",
        "recorder.cc",
        "pcap_writer.cc",
        "pcapng_writer.cc",
        "chunk_buffer.cc",
        "chunk_prefetcher.cc",
        "packet_summary.cc",
        "devices.cc",
        "filter_check.cc",
        "js_args.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "libraries": ["-lpcap"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++20", "-fexceptions", "-Wall", "-Wextra", "-Werror", "-Wno-missing-field-initializers"],
      "conditions": [
        ["pcapd_sanitize=='1'", {
          "cflags_cc": ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=undefined", "-O1", "-g"],
          "ldflags": ["-fsanitize=address,undefined"]
        }]
      ]
    }
  ]
}
