"""The dependency graph of computed fields, each given as the set of field keys its formula
reads: the groups that refer to each other in a loop, and an order to compute them in (see
:mod:`potok.metadata.formulas`)."""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Mapping

from potok.errors import N_
from potok.metadata._formula_tree import FormulaError


def _graph(reads: Mapping[str, frozenset[str]]) -> dict[str, list[str]]:
    return {key: sorted(fields & reads.keys()) for key, fields in reads.items()}


def _components(graph: Mapping[str, list[str]]) -> list[list[str]]:
    """Strongly connected components (Tarjan's algorithm, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(graph[root]))]
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components


def find_cycles(reads: Mapping[str, frozenset[str]]) -> list[list[str]]:
    """For every group of fields that refer to each other, the shortest loop through its
    first key, e.g. ``[["a", "b", "a"]]``."""
    graph = _graph(reads)
    cycles = []
    for component in _components(graph):
        start = component[0]
        if len(component) == 1 and start not in graph[start]:
            continue
        members = set(component)
        came_from: dict[str, str] = {}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            if start in graph[node]:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                cycles.append([*reversed(path), start])
                break
            for child in graph[node]:
                if child in members and child not in came_from and child != start:
                    came_from[child] = node
                    queue.append(child)
    return sorted(cycles)


def dependency_order(reads: Mapping[str, frozenset[str]]) -> list[str]:
    """The fields in an order where each comes after the fields it reads (ties in key order);
    raises :class:`FormulaError` when some refer to each other in a loop."""
    graph = _graph(reads)
    waiting = {key: len(deps) for key, deps in graph.items()}
    readers: dict[str, list[str]] = {key: [] for key in graph}
    for key, deps in graph.items():
        for dep in deps:
            readers[dep].append(key)
    ready = [key for key, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        key = heapq.heappop(ready)
        order.append(key)
        for reader in readers[key]:
            waiting[reader] -= 1
            if waiting[reader] == 0:
                heapq.heappush(ready, reader)
    if len(order) < len(graph):
        cycles = find_cycles(reads)
        message = N_("This computed field depends on itself")
        raise FormulaError(
            N_("Computed fields refer to each other in a loop: %(cycle)s"),
            params={"cycle": " → ".join(cycles[0])},
            field_errors={key: message for cycle in cycles for key in cycle},
        )
    return order
