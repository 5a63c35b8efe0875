"""The « Matrice » in presentation mode on a projector (1024x768) and a laptop screen (1280x720), in Debian's
Chromium: the current dimension's whole row and the Précédent/Suivant buttons are on screen without
scrolling, nothing is cut or spills out of its cell, the type is large enough to read from the back of a
room, and no hover tooltip stays on screen after a click. Asserted from element boxes; screenshots kept
in test-artifacts/presentation-<size>-<step>.png."""

from __future__ import annotations

import pytest

from observatory import config
from tests.browser.harness import browser_page, screenshot, streamlit_server
from tests.browser.map_probe import wait_until_idle

pytestmark = pytest.mark.browser

MIN_LABEL_PX = 20  # element labels: readable from the back of a room on a 1024x768 projector

# Every box of the slide, measured in the page: what must be on screen, what must not overflow.
SLIDE_BOXES = """
() => {
    const slide = document.querySelector('.cpts-matrix.cm-presentation');
    const box = el => { const r = el.getBoundingClientRect(); return {x: r.x, y: r.y, right: r.right, bottom: r.bottom}; };
    const cut = el => el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1;
    const buttons = [...document.querySelectorAll('button')].filter(b => /Précédent|Suivant/.test(b.innerText));
    return {
        viewport: {width: window.innerWidth, height: window.innerHeight},
        table: box(slide.querySelector('table')),
        buttons: buttons.map(b => ({text: b.innerText, box: box(b),
                                    cut: [...b.querySelectorAll('p, span')].some(cut) || cut(b)})),
        headers: [...slide.querySelectorAll('th[scope=col]:not(.cm-row)')].map(th => ({text: th.innerText, cut: cut(th)})),
        elements: [...slide.querySelectorAll('.cm-el')].map(el => {
            const td = el.closest('td');
            const e = box(el), c = box(td);
            const label = el.querySelector('.cm-label');
            // A word broken over two lines has two boxes.
            const text = label.firstChild.textContent;
            let split = [], at = 0;
            for (const word of text.split(' ')) {
                const range = document.createRange();
                range.setStart(label.firstChild, at);
                range.setEnd(label.firstChild, at + word.length);
                if (word && range.getClientRects().length > 1) split.push(word);
                at += word.length + 1;
            }
            return {text: label.innerText, cut: cut(el), split,
                    outside: e.x < c.x - 1 || e.right > c.right + 1 || e.y < c.y - 1 || e.bottom > c.bottom + 1,
                    font: parseFloat(getComputedStyle(el.querySelector('.cm-label')).fontSize)};
        }),
        tooltips: [...document.querySelectorAll('[data-testid="stTooltipContent"], [role="tooltip"]')]
                  .filter(t => t.offsetParent !== null).map(t => t.innerText),
    };
}
"""


def check_slide(page, name: str) -> dict:
    page.wait_for_selector(".cpts-matrix.cm-presentation .cm-el", timeout=30000)
    boxes = page.evaluate(SLIDE_BOXES)
    height, width = boxes["viewport"]["height"], boxes["viewport"]["width"]
    assert boxes["table"]["bottom"] <= height, f"{name}: la ligne finit à y = {boxes['table']['bottom']}"
    assert len(boxes["buttons"]) == 2
    for button in boxes["buttons"]:
        assert 0 <= button["box"]["y"] and button["box"]["bottom"] <= height and button["box"]["right"] <= width
        assert not button["cut"], f"{name}: bouton coupé {button['text']!r}"
        assert "…" not in button["text"]
    assert [h["text"].split("\n")[-1] for h in boxes["headers"]] == ["Externes", "Internes", "Environnementales"]
    assert not any(h["cut"] for h in boxes["headers"]), boxes["headers"]
    assert boxes["elements"], name
    for element in boxes["elements"]:
        assert not element["cut"] and not element["outside"] and not element["split"], f"{name}: {element}"
        assert element["font"] >= MIN_LABEL_PX, f"{name}: {element}"
    return boxes


@pytest.mark.parametrize(("width", "height"), [(1024, 768), (1280, 720)])
def test_a_projected_dimension_fits_the_screen(tiny_db, tmp_path, width, height):
    env = {config.ENV_DB: str(tiny_db), config.ENV_USER_DB: str(tmp_path / "evaluations.duckdb")}
    with streamlit_server(env) as base, browser_page(width=width, height=height) as (page, log):
        page.goto(f"{base}/matrice?presentation=1")
        page.get_by_text("1/3 · Structure").first.wait_for(timeout=60000)
        wait_until_idle(page)
        screenshot(page, f"presentation-{width}x{height}-structure")
        check_slide(page, "Structure")  # the most crowded dimension: 11 elements

        # A click on « Suivant ▶ »: the mouse stays on the button, no tooltip stays on screen.
        page.get_by_role("button", name="Suivant").click()
        page.get_by_text("2/3 · Processus").first.wait_for(timeout=30000)
        wait_until_idle(page)
        page.wait_for_timeout(1200)  # a hover tooltip would show by now
        screenshot(page, f"presentation-{width}x{height}-processus")
        boxes = check_slide(page, "Processus")
        assert boxes["tooltips"] == []

        # The keyboard: → to the last dimension.
        page.get_by_role("heading", name="Matrice des contraintes d'action").first.click()
        page.keyboard.press("ArrowRight")
        page.get_by_text("3/3 · Résultats").first.wait_for(timeout=30000)
        wait_until_idle(page)
        screenshot(page, f"presentation-{width}x{height}-resultats")
        check_slide(page, "Résultats")
        assert log.unexpected() == []
