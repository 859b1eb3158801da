"""The peer Hush is measured against: cosmetic filter rules, applied as content blockers apply them.

uBlock Origin, AdGuard and Adblock Plus hide parts of pages with cosmetic rules: ``example.org##.donate``
hides every element the CSS selector ``.donate`` matches on example.org and its subdomains, ``##.donate``
on every site, and ``example.org#@#.donate`` makes an exception. This module reads such rules (a filter
list, or a table whose first column is the rule) and finds the elements that the rules taking part on a
page's host would hide, so that the evaluation scores a filter list exactly as it scores the model.

Hiding rules are emulated with their extended syntax: ``:has-text()``, ``:-abp-contains()``,
``:contains()``, ``:-abp-has()``, ``:if()``, ``:if-not()``, ``:upward()``, ``:nth-ancestor()``,
``:remove()`` and a ``display: none`` style. Scriptlets, other styles and the remaining procedural
operators change pages in ways a parsed page cannot show; they are counted, not applied.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import soupsieve
from bs4 import BeautifulSoup, Tag

# Separators between the domains and the body of a cosmetic rule, longest first.
_SEPARATOR = re.compile(r"#@?\$\?#|#@?[$?%]#|#@?#")
# Text operators: the element's text holds the argument (a string, or /regex/flags).
_TEXT_OPERATORS = ("has-text", "-abp-contains", "contains")
_HAS_OPERATORS = ("-abp-has", "if", "has")
_UPWARD_OPERATORS = ("upward", "nth-ancestor")
_DOMAINS = re.compile(r"[\w.*~,-]*")
_HIDES = re.compile(r"display\s*:\s*none", re.IGNORECASE)


# Selectors are read as browsers read them (":has(> a > b)"): soupsieve's NOSTRICT flag, which came with
# soupsieve 3. Soupsieve 3 and newer need Python 3.11.5 or newer (its releases for older Pythons were
# withdrawn: their regular expressions break there), so an older Python has soupsieve 2 and no peer.
NOSTRICT: int | None = getattr(soupsieve, "NOSTRICT", None)
NEEDS = "the filter-list peer needs soupsieve 3 or newer, which needs Python 3.11.5 or newer"


class PeerUnavailable(RuntimeError):
    """This Python's soupsieve cannot read selectors as browsers do (see NOSTRICT)."""


class Unsupported(ValueError):
    """A rule this emulation does not apply (a scriptlet, a style that does not hide, an operator)."""


@dataclass(frozen=True)
class Selector:
    """A compiled hiding selector: CSS matched by soupsieve, then steps on each element it matches."""

    css: str
    text: re.Pattern | None = None  # a /regex/ text operator on the last compound
    upward: int | str | None = None  # climb this many levels, or to the nearest ancestor matching a selector
    # Classes (".x") and ids ("#x") without which the selector matches nothing: a page lacking one is
    # skipped without matching, as content blockers skip most generic rules by a class or id lookup.
    needs: frozenset[str] = field(default=frozenset(), compare=False)

    def select(self, soup: BeautifulSoup) -> list[Tag]:
        found = soupsieve.select(self.css, soup, flags=NOSTRICT)
        if self.text is not None:
            found = [el for el in found if self.text.search(el.get_text())]
        if self.upward is None:
            return found
        climbed = []
        for el in found:
            up: Tag | None = el
            if isinstance(self.upward, int):
                for _ in range(self.upward):
                    up = up.parent if up is not None else None
            else:
                parent = el.parent
                up = soupsieve.closest(self.upward, parent, flags=NOSTRICT) if parent else None
            if isinstance(up, Tag) and not isinstance(up, BeautifulSoup):
                climbed.append(up)
        return climbed


@dataclass(frozen=True)
class Rule:
    domains: tuple[str, ...]  # where it takes part; () for every site
    excluded: tuple[str, ...]  # ~domains
    body: str  # the selector as written, which is what an exception names
    exception: bool


@dataclass
class FilterList:
    """Hiding rules and exceptions, with the lines that could not be used and why."""

    rules: list[Rule] = field(default_factory=list)
    compiled: dict[str, Selector] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> rules
    _by_domain: dict[str, list[Rule]] | None = field(default=None, init=False, repr=False)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    @property
    def hiding(self) -> int:
        return sum(1 for r in self.rules if not r.exception)

    def plain_css(self) -> list[str]:
        """The hiding selectors that are plain CSS (no extended operator), whatever their domains: what
        a browser can match itself."""
        hiding = dict.fromkeys(r.body for r in self.rules if not r.exception)
        return [b for b in hiding if self.compiled[b] == Selector(b)]

    def for_host(self, host: str) -> list[Selector]:
        """The selectors that hide elements on pages of ``host``, exceptions taken out."""
        names = _host_names(host.lower().rstrip("."))
        rules = [r for r in self._candidates(names) if names.isdisjoint(r.excluded)]
        excepted = {r.body for r in rules if r.exception}
        bodies = dict.fromkeys(r.body for r in rules if not r.exception and r.body not in excepted)
        return [self.compiled[b] for b in bodies]

    def _candidates(self, names: set[str]) -> list[Rule]:
        """The rules for every site and those naming one of ``names`` (a host's, from _host_names)."""
        if self._by_domain is None:
            self._by_domain = {}
            for rule in self.rules:
                for key in rule.domains or ("",):
                    self._by_domain.setdefault(key, []).append(rule)
        keys = ("", *names)
        return list({id(r): r for key in keys for r in self._by_domain.get(key, ())}.values())

    def hidden(self, soup: BeautifulSoup, host: str) -> list[Tag]:
        """The elements of a parsed page that the rules for ``host`` hide (each once, in no set order)."""
        return hide(soup, self.for_host(host))


def hide(soup: BeautifulSoup, selectors: list[Selector]) -> list[Tag]:
    """The elements of a parsed page that the selectors hide (each once, in no set order)."""
    present: set[str] = set()
    for el in soup.find_all(True):
        present.update("." + c.lower() for c in el.get("class") or ())
        if isinstance(ident := el.get("id"), str):
            present.add("#" + ident.lower())
    found: dict[int, Tag] = {}
    for selector in selectors:
        if selector.needs <= present:
            for el in selector.select(soup):
                found[id(el)] = el
    return list(found.values())


def _host_names(host: str) -> set[str]:
    """Every domain and entity a rule may name to take part on ``host``: the host and its parent domains
    (example.org for www.example.org), and its entities (example.* for example.org and example.co.uk)."""
    labels = host.split(".") if host else []
    names = set()
    for i in range(len(labels)):
        names.add(".".join(labels[i:]))
        for cut in (1, 2):
            if len(labels) - i > cut:
                names.add(".".join(labels[i:-cut]) + ".*")
    return names


def read(path: Path) -> FilterList:
    """A filter list from a file: one rule per line, or a tab-separated table with the rule first."""
    return parse_lines(path.read_text(encoding="utf-8", errors="replace").splitlines())


def parse_lines(lines: Iterable[str]) -> FilterList:
    if NOSTRICT is None:
        raise PeerUnavailable(f"{NEEDS} (soupsieve {soupsieve.__version__} is installed)")
    out = FilterList()
    for raw in lines:
        line = raw.split("\t", 1)[0].strip()
        if not line or line.startswith(("!", "[", "# ")) or line == "rule":  # comments, a table's header
            continue
        m = _SEPARATOR.search(line)
        if m is None:
            out.skip("not a cosmetic rule")
            continue
        domains, sep, body = line[: m.start()], m.group(), line[m.end() :]
        if not _DOMAINS.fullmatch(domains) or not body or body[0].isspace():
            out.skip("not a cosmetic rule")  # a Markdown heading, a sentence with "##" in it
            continue
        if "%" in sep:
            out.skip("scriptlet")
            continue
        if body.startswith("+js(") or body.startswith("^"):
            out.skip("scriptlet" if body.startswith("+js(") else "HTML filter")
            continue
        try:
            selector = compile_body(body, style="$" in sep)
        except Unsupported as err:
            out.skip(str(err))
            continue
        names = [d.strip().lower() for d in domains.split(",") if d.strip()]
        rule = Rule(
            tuple(d for d in names if not d.startswith("~")),
            tuple(d[1:] for d in names if d.startswith("~")),
            body,
            "@" in sep,
        )
        out.rules.append(rule)
        out.compiled.setdefault(body, selector)
    return out


def compile_body(body: str, *, style: bool = False) -> Selector:
    """The Selector for a rule's body; Unsupported when it does not simply hide what it selects."""
    if style:  # AdGuard's "selector { declarations }"
        css, brace, declarations = body.partition("{")
        if not brace or not _HIDES.search(declarations):
            raise Unsupported("style that does not hide")
        body = css.strip()
    css, steps = _split_steps(body)
    text: re.Pattern | None = None
    upward: int | str | None = None
    for name, arg in steps:  # in the order written; a text test after a climb is not emulated
        if name in _TEXT_OPERATORS and text is None and upward is None:
            text = _regex(arg)
        elif name in _UPWARD_OPERATORS and upward is None:
            upward = int(arg) if arg.strip().isdigit() else _rewrite(arg.strip())
            if isinstance(upward, int) and not 1 <= upward <= 256:
                raise Unsupported("upward out of range")
        elif name == "style" and not _HIDES.search(arg):
            raise Unsupported("style that does not hide")
        elif name not in ("remove", "style"):
            raise Unsupported(f"operator :{name}()")
    css = _rewrite(css)
    try:
        soupsieve.compile(css, flags=NOSTRICT)  # as browsers read them (":has(> a > b)")
        if isinstance(upward, str):
            soupsieve.compile(upward, flags=NOSTRICT)
    except (soupsieve.SelectorSyntaxError, NotImplementedError, ValueError) as err:
        raise Unsupported("selector soupsieve cannot read") from err
    return Selector(css, text, upward, _needs(css))


def _split_steps(body: str) -> tuple[str, list[tuple[str, str]]]:
    """The selector without its trailing steps, and the steps: /regex/ text operators, :upward(),
    :nth-ancestor(), :remove(), :style(), read from the end of the body."""
    steps: list[tuple[str, str]] = []
    while body.endswith(")"):
        start = _opening(body, len(body) - 1)
        m = re.search(r":([-a-z]+)\($", body[: start + 1])
        if m is None:
            break
        name, arg = m.group(1), body[start + 1 : -1]
        trailing = name in ("upward", "nth-ancestor", "remove", "style")
        if not trailing and not (name in _TEXT_OPERATORS and _is_regex(arg)):
            break
        steps.insert(0, (name, arg))
        body = body[: m.start()]
    return body, steps


def _opening(text: str, close: int) -> int:
    """The index of the "(" that the ")" at ``close`` closes (quotes and escapes respected)."""
    depth, i = 0, close
    while i >= 0:
        ch = text[i]
        if ch == ")" and (i == 0 or text[i - 1] != "\\"):
            depth += 1
        elif ch == "(" and (i == 0 or text[i - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return i
        i -= 1
    raise Unsupported("unbalanced parentheses")


def _unquoted(text: str, start: int = 0) -> Iterator[tuple[int, str]]:
    """(index, piece) for the characters of ``text`` from ``start`` that stand outside quotes, an escape
    (a backslash and the character after it) given as one piece; escapes inside quotes are skipped."""
    i, quote = start, ""
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if not quote:
                yield i, text[i : i + 2]
            i += 2
            continue
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        else:
            yield i, ch
        i += 1


def _closing(text: str, open_at: int) -> int:
    """The index of the ")" that closes the "(" at ``open_at`` (quotes and escapes respected)."""
    depth = 0
    for i, ch in _unquoted(text, open_at):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
    raise Unsupported("unbalanced parentheses")


def _is_regex(arg: str) -> bool:
    return bool(re.fullmatch(r"/.+/[a-z]*", arg.strip(), re.DOTALL))


def _regex(arg: str) -> re.Pattern:
    arg = arg.strip()
    if not _is_regex(arg):
        return re.compile(re.escape(_unquote(arg)))
    pattern, _, flags = arg[1:].rpartition("/")
    try:
        return re.compile(pattern, re.IGNORECASE if "i" in flags else 0)
    except re.error as err:
        raise Unsupported("regular expression Python cannot read") from err


def _unquote(arg: str) -> str:
    if len(arg) >= 2 and arg[0] == arg[-1] and arg[0] in "\"'":
        return arg[1:-1]
    return arg


def _rewrite(css: str) -> str:
    """Extended pseudo-classes inside a selector, in soupsieve's terms: text operators become
    :-soup-contains(), :-abp-has() and :if() become :has(), :if-not(x) becomes :not(:has(x))."""
    out, i = [], 0
    for m in re.finditer(r":([-a-z]+)\(", css):
        if m.start() < i:
            continue
        name = m.group(1)
        if name not in (*_TEXT_OPERATORS, *_HAS_OPERATORS, "if-not", "not", "is", "where", "matches"):
            if name in ("nth-child", "nth-last-child", "nth-of-type", "nth-last-of-type", "lang", "dir"):
                continue
            raise Unsupported(f"operator :{name}()")
        end = _closing(css, m.end() - 1)
        arg = css[m.end() : end]
        out.append(css[i : m.start()])
        if name in _TEXT_OPERATORS:
            if _is_regex(arg):
                raise Unsupported("regular expression inside a selector")
            text = _unquote(arg.strip()).replace("\\", "\\\\").replace('"', '\\"')
            out.append(f':-soup-contains("{text}")')
        elif name in _HAS_OPERATORS:
            out.append(f":has({_rewrite(arg)})")
        elif name == "if-not":
            out.append(f":not(:has({_rewrite(arg)}))")
        else:
            out.append(f":{name}({_rewrite(arg)})")
        i = end + 1
    out.append(css[i:])
    return "".join(out)


def _needs(css: str) -> frozenset[str]:
    """The classes and ids a selector requires of the page: those outside any parentheses, brackets or
    quotes (inside :not() they would be excluded, not required); none for a list of selectors."""
    outside, depth = [], 0
    for _, ch in _unquoted(css):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
            ch = " "
        elif depth == 0 and ch == ",":
            return frozenset()
        outside.append(ch if depth == 0 else " ")
    tokens = re.findall(r"([.#])((?:[\w-]|\\.)+)", "".join(outside))
    # Lowercase on both sides: a page read in quirks mode matches classes and ids in any case.
    return frozenset(kind + name.lower() for kind, name in tokens if "\\" not in name)
