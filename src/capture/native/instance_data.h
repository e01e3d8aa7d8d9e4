// What the addon keeps per JavaScript environment: the captures and warm
// readers alive in it (so teardown can stop and join their threads) and the
// WarmInterface constructor (to recognise its objects). Owned by the
// environment, freed at its teardown.
#pragma once

#include <napi.h>

#include <memory>
#include <mutex>
#include <vector>

namespace pcapd {

class CaptureControl;
class WarmReader;

struct InstanceData {
  std::mutex mutex;  // guards captures and readers
  std::vector<std::weak_ptr<CaptureControl>> captures;
  std::vector<std::weak_ptr<WarmReader>> readers;
  Napi::FunctionReference warmInterface;
};

inline InstanceData& InstanceDataOf(Napi::Env env) {
  auto* data = env.GetInstanceData<InstanceData>();
  if (data == nullptr) {
    auto owned = std::make_unique<InstanceData>();
    data = owned.get();
    env.SetInstanceData<InstanceData>(owned.release());  // the environment deletes it at teardown
  }
  return *data;
}

// Remembers a live object for teardown, dropping the entries of dead ones.
template <typename T>
void Remember(std::vector<std::weak_ptr<T>>& list, const std::shared_ptr<T>& object) {
  std::erase_if(list, [](const auto& weak) { return weak.expired(); });
  list.push_back(object);
}

// The objects of `list` still alive, held while the caller stops and joins them.
template <typename T>
std::vector<std::shared_ptr<T>> LiveObjects(InstanceData& data, const std::vector<std::weak_ptr<T>>& list) {
  std::lock_guard<std::mutex> lock(data.mutex);
  std::vector<std::shared_ptr<T>> live;
  for (const auto& weak : list) {
    if (auto object = weak.lock()) live.push_back(std::move(object));
  }
  return live;
}

}  // namespace pcapd
