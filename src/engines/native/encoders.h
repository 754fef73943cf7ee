// Serving wrappers that put the native models behind atelier's seams: BERT
// and the CLIP text tower as engines::TextEmbedder, the CLIP image tower as
// engines::ImageEncoder. Each model has one Batcher: concurrent requests'
// inputs run together in ragged forwards on the model thread, while
// tokenising and image preprocessing stay on the callers' threads.
//
// load_hf_folder() reads a Hugging Face model folder as users have it:
// config.json + model.safetensors, the tokenizer files (vocab.txt and
// tokenizer_config.json; vocab.json + merges.txt or bpe_simple_vocab_16e6.txt.gz)
// and, for sentence-transformers folders, 1_Pooling/config.json and
// sentence_bert_config.json (pooling mode and maximum sequence length).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/batcher.h"
#include "engines/embedder.h"
#include "engines/vision.h"

namespace atelier::engines::native {

struct NativeOptions {
  std::size_t batch_max = 16;              // sequences or images per forward
  std::chrono::microseconds window{2000};  // batching window under load
  std::size_t queue_capacity = 256;        // calls waiting; more get 503
  // Per batcher ("<model>:text", "<model>:image"): called after each forward.
  std::function<std::function<void(std::size_t batch, double seconds)>(const std::string& batcher)>
      observer;
};

struct HfModel {
  std::string name;          // as registered: the folder's path under the models dir
  std::string architecture;  // "bert" or "clip"
  std::unique_ptr<engines::TextEmbedder> text;
  std::unique_ptr<ImageEncoder> image;  // CLIP only
};

// not_found when the folder has no config.json; invalid_argument naming the
// file and tensor when anything does not match.
Result<HfModel> load_hf_folder(const std::string& dir, const std::string& name,
                               const NativeOptions& opt);

}  // namespace atelier::engines::native
