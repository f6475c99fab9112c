// PublishedGeneration: xsd's side of the write-generation page
// (wire/write_generation.h): created beside the socket at start, raised before
// any reply leaves, removed at exit. Lets txend skip its catch-up round trip
// while nothing was written.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"
#include "wire/write_generation.h"

namespace txend::xsd {

class PublishedGeneration {
 public:
  // Writes <socket_path>.generation (a new file, renamed into place) with `generation`.
  static Result<std::unique_ptr<PublishedGeneration>> Create(const std::string& socket_path,
                                                             uint64_t generation);
  ~PublishedGeneration();  // unmaps it and removes the file
  PublishedGeneration(const PublishedGeneration&) = delete;
  PublishedGeneration& operator=(const PublishedGeneration&) = delete;

  // Makes `generation` visible; called before each reply is written.
  void Publish(uint64_t generation) {
    if (generation == published_) return;
    page_->generation.store(generation, std::memory_order_release);
    published_ = generation;
  }

 private:
  PublishedGeneration(std::string path, wire::WriteGenerationPage* page, uint64_t generation)
      : path_(std::move(path)), page_(page), published_(generation) {}
  std::string path_;
  wire::WriteGenerationPage* page_;
  uint64_t published_;
};

}  // namespace txend::xsd
