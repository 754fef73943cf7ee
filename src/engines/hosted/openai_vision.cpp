#include "engines/hosted/openai_vision.h"

#include <nlohmann/json.hpp>

#include "core/base64.h"

namespace atelier::engines {

OpenAiVisionDescriber::OpenAiVisionDescriber(OpenAiVisionOptions opt)
    : opt_(std::move(opt)),
      client_({opt_.base_url, opt_.api_key, "the hosted vision model"}),
      name_("openai:" + opt_.model) {}

namespace {

std::string hints(const SceneFacts& f) {
  std::string h;
  for (const auto& o : f.objects) {
    if (!h.empty()) h += ", ";
    h += (o.colour.empty() ? "" : o.colour + " ") + (o.type.empty() ? o.name : o.type);
  }
  std::string out = h.empty() ? "" : "A local detector found: " + h + ". ";
  if (!f.text.empty()) out += "OCR read: \"" + f.text + "\". ";
  return out;
}

}  // namespace

Result<Description> OpenAiVisionDescriber::ask(const std::string& prompt, const SceneFacts& facts,
                                               const std::string& jpeg, const WorkContext& work) {
  if (client_.base_url().empty())
    return Status::unavailable("caption_engine is openai but openai_base_url is not set");
  nlohmann::json body;
  body["model"] = opt_.model;
  body["max_tokens"] = opt_.max_tokens;
  body["temperature"] = 0;
  body["messages"] = nlohmann::json::array(
      {{{"role", "system"},
        {"content",
         "You describe photos for a fashion and interior styling app. Answer briefly and only with "
         "what "
         "is visible; say 'unknown' when the image does not show the answer."}},
       {{"role", "user"},
        {"content",
         nlohmann::json::array(
             {{{"type", "text"}, {"text", hints(facts) + prompt}},
              {{"type", "image_url"},
               {"image_url", {{"url", "data:image/jpeg;base64," + base64_encode(jpeg)}}}}})}}});
  OpenAiCallLimits limits;
  limits.timeout = opt_.timeout;
  limits.max_response_bytes = 4u << 20;
  ATELIER_ASSIGN_OR_RETURN(const nlohmann::json j,
                           client_.post_json("/chat/completions", body, limits, work));
  if (j.is_discarded() || !j.contains("choices") || !j["choices"].is_array() ||
      j["choices"].empty() || !j["choices"][0].contains("message") ||
      !j["choices"][0]["message"].contains("content") ||
      !j["choices"][0]["message"]["content"].is_string()) {
    return client_.malformed("chat completion");
  }
  Description d;
  d.text = j["choices"][0]["message"]["content"].get<std::string>();
  while (!d.text.empty() && (d.text.back() == '\n' || d.text.back() == ' ')) d.text.pop_back();
  // A remote model gives no calibrated confidence; say where the words came from.
  d.confidence = d.text == "unknown" ? 0.05f : 0.5f;
  d.evidence.push_back("answered by " + opt_.model + " at " + client_.base_url());
  if (j.contains("usage") && j["usage"].is_object() && j["usage"].contains("total_tokens")) {
    d.evidence.push_back("tokens: " + j["usage"]["total_tokens"].dump());
  }
  return d;
}

Result<Description> OpenAiVisionDescriber::caption(const SceneFacts& facts, const std::string& jpeg,
                                                   const WorkContext& work) {
  return ask("Write one caption sentence for this image.", facts, jpeg, work);
}

Result<Description> OpenAiVisionDescriber::answer(const std::string& question,
                                                  const SceneFacts& facts, const std::string& jpeg,
                                                  const WorkContext& work) {
  return ask("Question: " + question, facts, jpeg, work);
}

}  // namespace atelier::engines
