#include "js_args.h"

#include <cmath>

#include "capture_error.h"

namespace pcapd::js {

namespace {

std::string Join(const std::string& path, const char* key) { return path.empty() ? key : path + "." + key; }

}  // namespace

void ThrowTypeError(Napi::Env env, const std::string& path, const std::string& message) {
  Napi::Error error = Napi::TypeError::New(env, path + ": " + message);
  error.Set("code", Napi::String::New(env, codes::kNativeArgument));
  throw error;
}

void ThrowRangeError(Napi::Env env, const std::string& path, const std::string& message) {
  Napi::Error error = Napi::RangeError::New(env, path + ": " + message);
  error.Set("code", Napi::String::New(env, codes::kNativeArgument));
  throw error;
}

Napi::Object RequireObject(Napi::Value value, const std::string& path) {
  if (!value.IsObject() || value.IsArray() || value.IsFunction()) {
    ThrowTypeError(value.Env(), path, "expected an object");
  }
  return value.As<Napi::Object>();
}

Napi::Array RequireArray(Napi::Value value, const std::string& path, uint32_t minLength, uint32_t maxLength) {
  if (!value.IsArray()) ThrowTypeError(value.Env(), path, "expected an array");
  Napi::Array array = value.As<Napi::Array>();
  if (array.Length() < minLength || array.Length() > maxLength) {
    ThrowRangeError(value.Env(), path,
                    "expected " + std::to_string(minLength) + " to " + std::to_string(maxLength) + " items");
  }
  return array;
}

std::string GetString(Napi::Object object, const char* key, const std::string& path, StringRule rule,
                      std::optional<std::string> fallback) {
  const std::string where = Join(path, key);
  Napi::Value value = object.Get(key);
  if (value.IsUndefined() && fallback) return *fallback;
  if (!value.IsString()) ThrowTypeError(object.Env(), where, "expected a string");
  std::string text = value.As<Napi::String>().Utf8Value();
  if (text.size() > rule.maxBytes) {
    ThrowRangeError(object.Env(), where, "longer than " + std::to_string(rule.maxBytes) + " bytes");
  }
  if (!rule.allowEmpty && text.empty()) ThrowRangeError(object.Env(), where, "must not be empty");
  if (text.find('\0') != std::string::npos) ThrowRangeError(object.Env(), where, "must not contain NUL");
  return text;
}

uint64_t GetInteger(Napi::Object object, const char* key, const std::string& path, uint64_t min, uint64_t max,
                    std::optional<uint64_t> fallback) {
  const std::string where = Join(path, key);
  Napi::Value value = object.Get(key);
  if (value.IsUndefined() && fallback) return *fallback;
  if (!value.IsNumber()) ThrowTypeError(object.Env(), where, "expected a number");
  const double number = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(number) || std::floor(number) != number || number < static_cast<double>(min) ||
      number > static_cast<double>(max)) {
    ThrowRangeError(object.Env(), where,
                    "expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return static_cast<uint64_t>(number);
}

bool GetBool(Napi::Object object, const char* key, const std::string& path, std::optional<bool> fallback) {
  Napi::Value value = object.Get(key);
  if (value.IsUndefined() && fallback) return *fallback;
  if (!value.IsBoolean()) ThrowTypeError(object.Env(), Join(path, key), "expected a boolean");
  return value.As<Napi::Boolean>().Value();
}

}  // namespace pcapd::js
