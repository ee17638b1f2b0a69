#!/usr/bin/env python3
"""Make the demo library: short spoken Vietnamese spots for each topic of the shipped config
(two each; four for dich-vu-cong, which weighs twice as much).

espeak-ng's Vietnamese voice reads a sentence about the topic; the ffmpeg from the imageio-ffmpeg
wheel encodes it as a small mono Ogg Vorbis file with its title in the tags, written to
`audio_library/demo/<topic id>/<title>.ogg`. The generated files are committed, so running loa
needs no espeak-ng; run this again only to change them.

    apt-get install espeak-ng
    python scripts/make_demo_library.py [--out audio_library/demo]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import imageio_ffmpeg

SPOTS: dict[str, list[tuple[str, str]]] = {
    "y-nghia-muc-tieu": [
        (
            "Ý nghĩa của cải cách hành chính - số 1",
            "Cải cách hành chính giúp người dân và doanh nghiệp làm thủ tục nhanh "
            "hơn, ít tốn kém hơn.",
        ),
        (
            "Mục tiêu cải cách hành chính - số 2",
            "Mục tiêu của cải cách hành chính là xây dựng nền hành chính phục vụ nhân dân.",
        ),
    ],
    "thanh-tuu-tinh": [
        (
            "Thành tựu cải cách của tỉnh - số 1",
            "Năm qua, tỉnh đã rút ngắn thời gian giải quyết nhiều thủ tục hành chính.",
        ),
        (
            "Giải đáp thủ tục hành chính - số 2",
            "Mọi vướng mắc về thủ tục hành chính, bà con hãy hỏi tại bộ phận một cửa của xã.",
        ),
    ],
    "trach-nhiem-nguoi-dung-dau": [
        (
            "Trách nhiệm người đứng đầu - số 1",
            "Người đứng đầu cơ quan chịu trách nhiệm trực tiếp về cải cách hành chính tại đơn vị.",
        ),
        (
            "Vai trò của cấp ủy - số 2",
            "Cấp ủy Đảng các cấp lãnh đạo, chỉ đạo và kiểm tra công tác cải cách hành chính.",
        ),
    ],
    "van-hoa-cong-vu": [
        (
            "Văn hóa công vụ - số 1",
            "Cán bộ, công chức phải tận tụy, lịch sự và tôn trọng nhân dân khi thi hành công vụ.",
        ),
        (
            "Quy tắc ứng xử của công chức - số 2",
            "Công chức không được gây phiền hà, sách nhiễu người dân khi giải quyết công việc.",
        ),
    ],
    "dich-vu-cong": [
        (
            "Dịch vụ công trực tuyến - số 1",
            "Bà con có thể nộp hồ sơ trực tuyến trên Cổng dịch vụ công quốc gia, "
            "không cần đến trụ sở.",
        ),
        (
            "Nhận kết quả qua bưu điện - số 2",
            "Bà con có thể nhận kết quả thủ tục hành chính tại nhà qua dịch vụ bưu chính công ích.",
        ),
        (
            "Một cửa của xã - số 3",
            "Bộ phận một cửa của xã tiếp nhận hồ sơ và trả kết quả vào giờ hành chính các ngày "
            "trong tuần.",
        ),
        (
            "Thanh toán trực tuyến - số 4",
            "Lệ phí thủ tục hành chính có thể nộp trực tuyến, an toàn và nhanh chóng.",
        ),
    ],
    "chuong-trinh-tong-the": [
        (
            "Chương trình tổng thể 2021 - 2030 - số 1",
            "Chương trình tổng thể cải cách hành chính giai đoạn hai nghìn không trăm hai mươi mốt "
            "đến hai nghìn không trăm ba mươi đã được ban hành.",
        ),
        (
            "Kế hoạch cải cách năm 2021 - số 2",
            "Kế hoạch cải cách hành chính năm nay tập trung vào chuyển đổi số và "
            "thủ tục hành chính.",
        ),
    ],
    "chi-so": [
        (
            "Chỉ số hài lòng SIPAS - số 1",
            "Chỉ số hài lòng của người dân đo mức độ hài lòng với sự phục vụ của "
            "cơ quan hành chính.",
        ),
        (
            "Chỉ số PAPI và PCI - số 2",
            "Các chỉ số PAPI và PCI đánh giá chất lượng quản trị và năng lực cạnh tranh của tỉnh.",
        ),
    ],
    "mo-hinh-dien-hinh": [
        (
            "Mô hình hiệu quả - số 1",
            "Nhiều xã đã làm tốt mô hình tiếp nhận hồ sơ và trả kết quả ngay trong ngày.",
        ),
        (
            "Điển hình tốt - số 2",
            "Hãy học tập các điển hình tốt trong cải cách hành chính ở trong và ngoài tỉnh.",
        ),
    ],
    "tinh-hinh-ngoai-tinh": [
        (
            "Kết quả của các bộ ngành - số 1",
            "Các bộ, ngành Trung ương đã cắt giảm nhiều điều kiện kinh doanh không cần thiết.",
        ),
        (
            "Kinh nghiệm các địa phương - số 2",
            "Nhiều địa phương ngoài tỉnh đã đưa toàn bộ thủ tục hành chính lên môi trường mạng.",
        ),
    ],
    "tac-pham-hoi-thi": [
        (
            "Tác phẩm đạt giải hội thi - số 1",
            "Sau đây là một tác phẩm đạt giải Hội thi sáng tác về cải cách hành "
            "chính năm hai nghìn "
            "không trăm hai mươi.",
        ),
        (
            "Tiểu phẩm cải cách hành chính - số 2",
            "Mời bà con nghe tiểu phẩm về người dân đi làm thủ tục ở bộ phận một cửa.",
        ),
    ],
    "duong-day-nong": [
        (
            "Đường dây nóng - số 1",
            "Mọi phản ánh về quy định hành chính, xin gọi đường dây nóng của Ủy ban nhân dân xã.",
        ),
        (
            "Phản ánh kiến nghị - số 2",
            "Bà con có thể gửi phản ánh, kiến nghị qua đường dây nóng hoặc hộp thư góp ý tại xã.",
        ),
    ],
}


def make(out: Path, title: str, text: str, tmp: Path) -> Path:
    raw = tmp / "raw.wav"
    subprocess.run(["espeak-ng", "-v", "vi", "-s", "150", "-w", str(raw), text], check=True)
    target = out / f"{title}.ogg"
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-v",
            "error",
            "-y",
            "-i",
            str(raw),
            # half a second of silence either side, as real spots have; loudness left as spoken
            "-af",
            "adelay=500,apad=pad_dur=0.5",
            "-ac",
            "1",
            "-ar",
            "22050",
            "-c:a",
            "libvorbis",
            "-q:a",
            "2",
            "-metadata",
            f"title={title}",
            str(target),
        ],
        check=True,
    )
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("audio_library/demo"))
    args = parser.parse_args()
    if shutil.which("espeak-ng") is None:
        print("cần espeak-ng: apt-get install espeak-ng (espeak-ng is needed)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        for topic, spots in SPOTS.items():
            folder = args.out / topic
            folder.mkdir(parents=True, exist_ok=True)
            for title, text in spots:
                path = make(folder, title, text, Path(tmp))
                print(f"{path} {path.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
