"""`python -m fsc_clip_hf.negatives show`: tables per type, coverage, and the HTML page with images."""

import json

from PIL import Image

from fsc_clip_hf.negatives.__main__ import main as cli

CAPTIONS = ["A man riding a horse on the beach.", "a white dog on a red sofa.", "Dogs.",
            "Two dogs playing with a red frisbee in the park.", "A woman holding an umbrella in the rain."]


def test_show_a_caption_file_with_images(tmp_path, capsys):
    (tmp_path / "images").mkdir()
    rows = []
    for i, caption in enumerate(CAPTIONS):
        Image.new("RGB", (64, 48), (40 * i, 100, 200)).save(tmp_path / "images" / f"{i}.png")
        rows.append({"image": f"images/{i}.png" if i != 4 else "images/missing.png", "caption": caption})
    source = tmp_path / "train.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    page = tmp_path / "negatives.html"
    assert cli(["show", "--input", str(source), "--caption_column", "caption", "--image_column", "image",
                "--n", "4", "--style", "fsc-clip", "--html", str(page), "--negatives_article_agreement"]) == 0
    out = capsys.readouterr().out
    assert "article_agreement=True" in out and "replace_senses=all" in out
    for kind in ("swap", "replace", "shuffle"):
        assert f"### {kind} (" in out
    assert "coverage of 5 captions: swap 80.0 %, replace 80.0 %, shuffle 80.0 %" in out  # "Dogs." has none
    assert out.count("| — |") >= 1 or "Dogs." not in out
    html = page.read_text()
    assert html.count("data:image/jpeg;base64,") + html.count("class='missing'") == 4
    assert "<th>swap (80 %)</th>" in html


def test_show_captions_on_the_command_line(capsys):
    assert cli(["show", "fish &amp; chips on a plate next to a cup", "--style", "negclip"]) == 0
    out = capsys.readouterr().out
    assert "| 1 | fish & chips on a plate next to a cup |" in out and "### swap (1 of 1" in out
