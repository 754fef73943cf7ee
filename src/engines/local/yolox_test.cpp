#include "engines/local/yolox.h"

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

namespace atelier::engines {
namespace {

// The letterbox YOLOX was trained with: the image scaled to fit `size` at the
// top-left corner (bilinear), the rest grey 114. Compared with building it
// the plain way (a grey canvas and a resized copy) for wide, tall, exact and
// tiny inputs.
TEST(Yolox, LetterboxIsTheResizedImageInTheCornerOnGrey) {
  for (cv::Size in : {cv::Size(640, 427), cv::Size(300, 800), cv::Size(416, 416), cv::Size(3, 2)}) {
    cv::Mat bgr(in, CV_8UC3);
    cv::randu(bgr, cv::Scalar::all(0), cv::Scalar::all(255));
    float ratio = 0;
    cv::Mat got = YoloxDetector::letterbox(bgr, 416, &ratio);
    const float r = std::min(416.f / in.height, 416.f / in.width);
    EXPECT_FLOAT_EQ(ratio, r);
    cv::Mat want(416, 416, CV_8UC3, cv::Scalar(114, 114, 114)), resized;
    cv::resize(bgr, resized,
               cv::Size(std::min(416, std::max(1, int(std::lround(in.width * r)))),
                        std::min(416, std::max(1, int(std::lround(in.height * r))))),
               0, 0, cv::INTER_LINEAR);
    resized.copyTo(want(cv::Rect(0, 0, resized.cols, resized.rows)));
    EXPECT_EQ(cv::norm(got, want, cv::NORM_INF), 0) << in;
  }
}

}  // namespace
}  // namespace atelier::engines
