// A failure inside the native core, carrying the stable error code the
// TypeScript facade and the README use (PCAPD_ERR_*).
#pragma once

#include <stdexcept>
#include <string>

namespace pcapd {

namespace codes {
inline constexpr const char* kNativeArgument = "PCAPD_ERR_NATIVE_ARGUMENT";
inline constexpr const char* kInterfaceUnknown = "PCAPD_ERR_INTERFACE_UNKNOWN";
inline constexpr const char* kInterfaceDown = "PCAPD_ERR_INTERFACE_DOWN";
inline constexpr const char* kPermissionDenied = "PCAPD_ERR_PERMISSION_DENIED";
inline constexpr const char* kActivateFailed = "PCAPD_ERR_CAPTURE_ACTIVATE";
inline constexpr const char* kBpfInvalid = "PCAPD_ERR_BPF_INVALID";
inline constexpr const char* kLimitTooSmall = "PCAPD_ERR_LIMIT_TOO_SMALL";
inline constexpr const char* kCaptureFailed = "PCAPD_ERR_CAPTURE_FAILED";
inline constexpr const char* kDeviceList = "PCAPD_ERR_DEVICE_LIST";
}  // namespace codes

class CaptureError : public std::runtime_error {
 public:
  CaptureError(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

}  // namespace pcapd
