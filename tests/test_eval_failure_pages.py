"""``--html``: the wrong items the engine hands over, and their pages rendered in headless Chromium."""

import re

import pytest
from helpers import chromium
from helpers.eval_benchmark_files import write_sugarcrepe, write_svo_probes, write_whatsup
from helpers.eval_breadth_files import write_colorswap, write_sugarcrepe_pp
from helpers.eval_fixtures import ColourCLIP, ColourProcessor

from fsc_clip_hf.evaluation.failure_pages import FailurePages
from fsc_clip_hf.evaluation.failures import Failure, Failures
from fsc_clip_hf.evaluation.images import ImageBytes
from fsc_clip_hf.evaluation.report import write_report
from fsc_clip_hf.evaluation.suite import evaluate_model

pytestmark = pytest.mark.usefixtures("offline_hub")


def test_failures_keep_the_lowest_margins_and_count_every_one():
    failures = Failures(limit=2)
    for n, margin in enumerate((-0.1, -0.5, 0.0, -0.3)):
        failures.add(Failure("a" if n % 2 else "b", "image → captions", ImageBytes(b""), "true", "other", margin, 0.0))
    assert failures.counts == {"a": 2, "b": 2} and failures.total() == 4
    assert [failure.margin for failure in failures.kept()] == [-0.5, -0.3]


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """Five benchmarks of every shape with wrong items (strict and argmax-first choices, caption → images,
    pairs, triples), evaluated with the pages hook; ``(results, hook, output folder)``."""
    root, output = tmp_path_factory.mktemp("data"), tmp_path_factory.mktemp("report")
    for write in (write_sugarcrepe, write_whatsup, write_svo_probes, write_colorswap, write_sugarcrepe_pp):
        write(root)
    hook = FailurePages(str(output), "colour-clip")
    results = evaluate_model(ColourCLIP(), ColourProcessor(), "sugarcrepe,whatsup,svo_probes,colorswap,sugarcrepe_pp",
                             str(root), model_name="colour-clip", show_progress=False, on_failures=hook)
    write_report(results, str(output), hook.written)
    return results, hook, output


def wrong_per_subset(record, name) -> dict[str, int]:
    """Wrong items per subset from the scores: items × (100 − the headline criterion's score) / 100."""
    def score(subset):
        return record["subsets"][{"colorswap": "group", "sugarcrepe_pp": f"{subset}/itt"}.get(name, subset)]

    wrong = {subset: round(count["items"] * (1 - score(subset) / 100))
             for subset, count in record["counts"].items() if count["items"]}
    return {subset: number for subset, number in wrong.items() if number}


def test_each_benchmark_gets_a_page_of_exactly_its_wrong_items_linked_from_results_md(pages):
    results, hook, output = pages
    assert hook.written == {name: f"failures/{name}.html" for name in
                            ("sugarcrepe", "whatsup", "svo_probes", "colorswap", "sugarcrepe_pp")}
    markdown = (output / "results.md").read_text()
    assert "## Items the model got wrong" in markdown and "- [ColorSwap](failures/colorswap.html)" in markdown
    for name, relative in hook.written.items():
        page = (output / relative).read_text()
        rows = re.findall(r'<tr data-subset="([^"]*)"', page)
        expected = wrong_per_subset(results["details"][name], name)
        assert expected, name
        assert {subset: rows.count(subset) for subset in set(rows)} == expected, name
        assert f"<p>{sum(expected.values())} wrong of {results['details'][name]['items']} items scored" in page


def test_a_page_shows_the_true_caption_the_preferred_option_both_scores_and_the_image(pages):
    _, _, output = pages
    page = (output / "failures" / "sugarcrepe.html").read_text()
    # add_att: "a red ball" (true) against "a blue ball" on the blue image: lost by the cosine margin.
    row = next(row for row in page.split("<tr ") if 'data-subset="add_att"' in row)
    cells = re.findall(r"<td>(.*?)</td>", row)
    assert cells[0].startswith('<img src="data:image/jpeg;base64,') and cells[1:5] == [
        "add_att", "image → captions", "a red ball", "a blue ball"]
    true_score, preferred_score, margin = map(float, cells[5:8])
    assert true_score < preferred_score and margin == pytest.approx(true_score - preferred_score, abs=2e-4)
    svo = (output / "failures" / "svo_probes.html").read_text()
    assert svo.count('<img src="data:image/jpeg;base64,') == 2 and "preferred:</span>" in svo  # both images


@pytest.mark.skipif(chromium.unavailable() is not None, reason=str(chromium.unavailable()))
def test_pages_render_in_headless_chromium_sorted_by_margin_either_way(pages):
    _, _, output = pages
    url = (output / "failures" / "sugarcrepe_pp.html").as_uri()
    ascending, descending = chromium.dump_dom(url), chromium.dump_dom(url + "#sort=margin-desc")
    for dom, order, word in ((ascending, sorted, "ascending"), (descending, lambda m: sorted(m, reverse=True),
                                                                "descending")):
        margins = [float(m) for m in re.findall(r'<tr data-subset="[^"]*" data-comparison="[^"]*" '
                                                r'data-true-score="[^"]*" data-preferred-score="[^"]*" '
                                                r'data-margin="([^"]*)"', dom)]
        assert len(margins) == 3 and margins == order(margins)
        # The script ran: it wrote the order it applied.
        assert f'<span id="status">sorted by margin, {word} (3 rows)</span>' in dom
    assert "a red and blue thing" in ascending and "ITT, positive" in ascending
