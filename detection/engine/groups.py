"""Groups: the multiplex network of kept edges, its components, then Louvain communities inside them."""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

SMALL_COMPONENT = 4  # components this small are one group: community detection has nothing to split


def multiplex(a_parts: list[np.ndarray], b_parts: list[np.ndarray], w_parts: list[np.ndarray]):
    """Sum the kept edges of all behaviours into one undirected weighted edge list (a < b, sorted)."""
    if not a_parts or sum(len(x) for x in a_parts) == 0:
        z = np.zeros(0, np.int64)
        return z, z, np.zeros(0)
    a, b, w = np.concatenate(a_parts), np.concatenate(b_parts), np.concatenate(w_parts).astype(np.float64)
    n = int(max(a.max(), b.max())) + 1
    keys, inverse = np.unique(a * n + b, return_inverse=True)
    weight = np.bincount(inverse, weights=w)
    return keys // n, keys % n, weight


def find_groups(
    a: np.ndarray, b: np.ndarray, w: np.ndarray, n_accounts: int, seed: int, resolution: float
) -> list[np.ndarray]:
    """Account sets (sorted arrays) of the groups, ordered by size then smallest member; deterministic."""
    if len(a) == 0:
        return []
    graph = coo_matrix((w, (a, b)), shape=(n_accounts, n_accounts)).tocsr()
    _, label = connected_components(graph, directed=False)
    nodes = np.unique(np.concatenate([a, b]))
    comp_of_edge = label[a]
    order = np.argsort(comp_of_edge, kind="stable")
    groups: list[np.ndarray] = []
    comp_nodes = label[nodes]
    node_order = np.argsort(comp_nodes, kind="stable")
    node_bounds = np.flatnonzero(np.diff(comp_nodes[node_order])) + 1
    edge_bounds = np.flatnonzero(np.diff(comp_of_edge[order])) + 1
    node_chunks = np.split(nodes[node_order], node_bounds)
    edge_chunks = np.split(order, edge_bounds)
    for members, edges in zip(node_chunks, edge_chunks, strict=True):
        members = np.sort(members)
        if len(members) <= SMALL_COMPONENT:
            groups.append(members)
            continue
        import networkx as nx  # only for Louvain; loading it costs a tenth of a second

        g = nx.Graph()
        g.add_nodes_from(members.tolist())
        g.add_weighted_edges_from(zip(a[edges].tolist(), b[edges].tolist(), w[edges].tolist(), strict=True))
        communities = nx.community.louvain_communities(g, weight="weight", resolution=resolution, seed=seed)
        groups.extend(np.array(sorted(c), dtype=np.int64) for c in communities)
    groups.sort(key=lambda m: (-len(m), int(m[0])))
    return groups
