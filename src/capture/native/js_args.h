// Checked reading of arguments crossing from JavaScript. Every value is
// type- and range-checked; a bad one throws a JavaScript TypeError/RangeError
// whose `code` is PCAPD_ERR_NATIVE_ARGUMENT and whose message names the path
// (`limits.bytes: expected an integer in [0, 9007199254740991]`). Nothing here
// crashes on bad input. Runs on the JavaScript thread.
#pragma once

#include <napi.h>

#include <cstdint>
#include <optional>
#include <string>

namespace pcapd::js {

[[noreturn]] void ThrowTypeError(Napi::Env env, const std::string& path, const std::string& message);
[[noreturn]] void ThrowRangeError(Napi::Env env, const std::string& path, const std::string& message);

Napi::Object RequireObject(Napi::Value value, const std::string& path);
Napi::Array RequireArray(Napi::Value value, const std::string& path, uint32_t minLength, uint32_t maxLength);

struct StringRule {
  size_t maxBytes = 4096;
  bool allowEmpty = true;
};
// Absent or undefined gives `fallback`; when there is no fallback, it is an error.
std::string GetString(Napi::Object object, const char* key, const std::string& path, StringRule rule,
                      std::optional<std::string> fallback = std::nullopt);
uint64_t GetInteger(Napi::Object object, const char* key, const std::string& path, uint64_t min, uint64_t max,
                    std::optional<uint64_t> fallback = std::nullopt);
bool GetBool(Napi::Object object, const char* key, const std::string& path,
             std::optional<bool> fallback = std::nullopt);

constexpr uint64_t kMaxSafeInteger = 9007199254740991ull;  // 2^53 - 1

}  // namespace pcapd::js
