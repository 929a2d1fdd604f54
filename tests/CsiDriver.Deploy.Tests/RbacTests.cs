using static CsiDriver.Deploy.Tests.Manifests;

namespace CsiDriver.Deploy.Tests;

/// <summary>
/// What each ServiceAccount may do, computed from the rendered Roles, ClusterRoles and bindings,
/// against what each sidecar's upstream deploy/kubernetes/rbac.yaml lists (see deploy/README.md
/// "RBAC" for the versions those lists come from). Every listed verb must be granted, and nothing
/// beyond the lists (plus the documented extras) may be.
/// </summary>
public sealed class RbacTests
{
    public static TheoryData<string> OverlayNames => new(Overlays);

    private static readonly string[] LeaseVerbs = ["get", "watch", "list", "delete", "update", "create"];

    /// <summary>(apiGroup, resource, verbs) per sidecar, from the kubernetes-csi rbac.yaml of each pinned release.</summary>
    private static readonly Dictionary<string, (string Group, string Resource, string[] Verbs)[]> Upstream = new(StringComparer.Ordinal)
    {
        ["csi-provisioner"] =
        [
            ("", "persistentvolumes", ["get", "list", "watch", "create", "patch", "delete"]),
            ("", "persistentvolumeclaims", ["get", "list", "watch", "update"]),
            ("storage.k8s.io", "storageclasses", ["get", "list", "watch"]),
            ("", "events", ["list", "watch", "create", "update", "patch"]),
            ("snapshot.storage.k8s.io", "volumesnapshots", ["get", "list", "watch", "update"]),
            ("snapshot.storage.k8s.io", "volumesnapshotcontents", ["get", "list"]),
            ("storage.k8s.io", "csinodes", ["get", "list", "watch"]),
            ("", "nodes", ["get", "list", "watch"]),
            ("storage.k8s.io", "volumeattachments", ["get", "list", "watch"]),
            ("coordination.k8s.io", "leases", LeaseVerbs),
        ],
        ["csi-attacher"] =
        [
            ("", "persistentvolumes", ["get", "list", "watch", "patch"]),
            ("storage.k8s.io", "csinodes", ["get", "list", "watch"]),
            ("storage.k8s.io", "volumeattachments", ["get", "list", "watch", "patch"]),
            ("storage.k8s.io", "volumeattachments/status", ["patch"]),
            ("coordination.k8s.io", "leases", LeaseVerbs),
        ],
        ["csi-resizer"] =
        [
            ("", "persistentvolumes", ["get", "list", "watch", "patch"]),
            ("", "persistentvolumeclaims", ["get", "list", "watch"]),
            ("", "pods", ["get", "list", "watch"]),
            ("", "persistentvolumeclaims/status", ["patch"]),
            ("", "events", ["list", "watch", "create", "update", "patch"]),
            ("storage.k8s.io", "volumeattributesclasses", ["get", "list", "watch"]),
            ("coordination.k8s.io", "leases", LeaseVerbs),
        ],
        ["csi-snapshotter"] =
        [
            ("", "events", ["list", "watch", "create", "update", "patch"]),
            ("snapshot.storage.k8s.io", "volumesnapshotclasses", ["get", "list", "watch"]),
            ("snapshot.storage.k8s.io", "volumesnapshotcontents", ["create", "get", "list", "watch", "update", "delete", "patch"]),
            ("snapshot.storage.k8s.io", "volumesnapshotcontents/status", ["update", "patch"]),
            ("groupsnapshot.storage.k8s.io", "volumegroupsnapshotclasses", ["get", "list", "watch"]),
            ("groupsnapshot.storage.k8s.io", "volumegroupsnapshotcontents", ["get", "list", "watch", "update", "patch"]),
            ("groupsnapshot.storage.k8s.io", "volumegroupsnapshotcontents/status", ["update", "patch"]),
            ("coordination.k8s.io", "leases", LeaseVerbs),
        ],
    };

    /// <summary>Beyond the upstream lists: the provisioner reads a PVC's VolumeAttributesClass at creation.</summary>
    private static readonly (string Group, string Resource, string Verb)[] DocumentedExtras =
    [
        ("storage.k8s.io", "volumeattributesclasses", "get"),
    ];

    [Theory]
    [MemberData(nameof(OverlayNames))]
    public void Controller_service_account_has_every_verb_each_sidecar_upstream_rbac_lists(string overlay)
    {
        var docs = Kustomize.Render(overlay);
        var controller = Single(docs, "Deployment", Controller);
        var granted = Grants(docs, PodSpec(controller)["serviceAccountName"].Str!, "kube-system");

        foreach (var sidecar in PodSpec(controller)["containers"].Items.Select(c => c["name"].Str!).Where(Upstream.ContainsKey))
        {
            var missing = Upstream[sidecar]
                .SelectMany(r => r.Verbs.Select(v => (r.Group, r.Resource, Verb: v)))
                .Where(p => !granted.Contains(p))
                .Select(p => $"{p.Group}/{p.Resource}:{p.Verb}")
                .ToList();
            Assert.True(missing.Count == 0, $"{sidecar} lacks: {string.Join(", ", missing)}");
        }
    }

    [Theory]
    [MemberData(nameof(OverlayNames))]
    public void Controller_service_account_gets_nothing_beyond_the_sidecars_lists(string overlay)
    {
        var docs = Kustomize.Render(overlay);
        var controller = Single(docs, "Deployment", Controller);
        var granted = Grants(docs, PodSpec(controller)["serviceAccountName"].Str!, "kube-system");
        var allowed = Upstream.Values.SelectMany(rules => rules.SelectMany(r => r.Verbs.Select(v => (r.Group, r.Resource, Verb: v))))
            .Concat(DocumentedExtras)
            .ToHashSet();

        var excess = granted.Where(g => !allowed.Contains(g)).Select(g => $"{g.Group}/{g.Resource}:{g.Verb}").ToList();
        Assert.True(excess.Count == 0, $"granted beyond the sidecars' needs: {string.Join(", ", excess)}");
        Assert.DoesNotContain(granted, g => g.Resource == "secrets");
    }

    [Theory]
    [MemberData(nameof(OverlayNames))]
    public void Each_sidecar_has_its_own_cluster_role_and_lease_role(string overlay)
    {
        var docs = Kustomize.Render(overlay);
        foreach (var sidecar in Upstream.Keys)
        {
            var roleName = $"block-csi-external-{sidecar["csi-".Length..]}";
            var clusterRole = Single(docs, "ClusterRole", roleName);
            var leaseRole = Single(docs, "Role", roleName + "-leases");
            var clusterRules = Rules(clusterRole).ToHashSet();
            var roleRules = Rules(leaseRole).ToHashSet();
            foreach (var (group, resource, verbs) in Upstream[sidecar])
            {
                var target = resource == "leases" ? roleRules : clusterRules;
                Assert.All(verbs, v => Assert.Contains((group, resource, v), target));
            }
        }
    }

    [Theory]
    [MemberData(nameof(OverlayNames))]
    public void Node_service_account_may_only_get_and_patch_nodes(string overlay)
    {
        var docs = Kustomize.Render(overlay);
        var node = Single(docs, "DaemonSet", Node);
        var granted = Grants(docs, PodSpec(node)["serviceAccountName"].Str!, "kube-system");

        Assert.Equal([("", "nodes", "get"), ("", "nodes", "patch")], granted.OrderBy(g => g.Verb, StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(OverlayNames))]
    public void Roles_use_no_wildcards_and_bindings_name_existing_accounts_and_roles(string overlay)
    {
        var docs = Kustomize.Render(overlay);
        foreach (var role in docs.Where(d => d.Kind is "Role" or "ClusterRole"))
        {
            Assert.All(role["rules"].Items, rule =>
            {
                Assert.DoesNotContain("*", rule["verbs"].Strings);
                Assert.DoesNotContain("*", rule["resources"].Strings);
                Assert.DoesNotContain("*", rule["apiGroups"].Strings);
            });
        }
        var accounts = OfKind(docs, "ServiceAccount").Select(a => (a.Name, a["metadata"]["namespace"].Str)).ToHashSet();
        foreach (var binding in docs.Where(d => d.Kind is "RoleBinding" or "ClusterRoleBinding"))
        {
            var roleRef = binding["roleRef"];
            Single(docs, roleRef["kind"].Str!, roleRef["name"].Str!);
            Assert.All(binding["subjects"].Items, s =>
            {
                Assert.Equal("ServiceAccount", s["kind"].Str);
                Assert.Contains((s["name"].Str!, s["namespace"].Str ?? binding["metadata"]["namespace"].Str), accounts);
            });
        }
    }

    /// <summary>Every (apiGroup, resource, verb) the account holds: ClusterRoles through ClusterRoleBindings,
    /// and Roles or ClusterRoles through RoleBindings in the account's namespace.</summary>
    private static HashSet<(string Group, string Resource, string Verb)> Grants(IReadOnlyList<Yaml> docs, string account, string ns)
    {
        var result = new HashSet<(string, string, string)>();
        foreach (var binding in docs.Where(d => d.Kind is "ClusterRoleBinding" or "RoleBinding"))
        {
            var bindingNamespace = binding["metadata"]["namespace"].Str;
            if (binding.Kind == "RoleBinding" && bindingNamespace != ns)
            {
                continue;
            }
            var boundHere = binding["subjects"].Items.Any(s =>
                s["kind"].Str == "ServiceAccount" && s["name"].Str == account && (s["namespace"].Str ?? bindingNamespace) == ns);
            if (!boundHere)
            {
                continue;
            }
            var role = Single(docs, binding["roleRef"]["kind"].Str!, binding["roleRef"]["name"].Str!);
            result.UnionWith(Rules(role));
        }
        return result;
    }

    private static IEnumerable<(string Group, string Resource, string Verb)> Rules(Yaml role) =>
        from rule in role["rules"].Items
        from g in rule["apiGroups"].Strings
        from r in rule["resources"].Strings
        from v in rule["verbs"].Strings
        select (g, r, v);
}
