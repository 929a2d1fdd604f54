using System.Globalization;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace CsiDriver.E2E;

/// <summary>
/// VolumeGroupSnapshot (groupsnapshot.storage.k8s.io/v1beta1) as a user takes one: four label-selected claims, one
/// group snapshot through snapshot-controller and csi-snapshotter (CreateVolumeGroupSnapshot), its member
/// VolumeSnapshots restored into new claims. With pods, a writer appends the same counter to every volume, a to d in
/// turn, while the group is taken: the restored volumes show one instant (a ≥ b ≥ c ≥ d ≥ a − 1) whatever the load.
/// aws: EC2 answers CreateSnapshots pending (scripts/e2e.sh has the simulator hold snapshots pending for seconds and
/// the driver wait less than that), and csi-snapshotter v8.2 never re-checks a pending group
/// (kubernetes-csi/external-snapshotter#1457): the group becomes ready only through the driver's DEADLINE_EXCEEDED
/// and the snapshotter's retries of the same name.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class GroupSnapshotTests(ClusterFixture cluster, ITestOutputHelper output)
{
    private E2ESettings Settings => cluster.Settings;

    /// <summary>The claims of the group, in the order the writer appends to them.</summary>
    private static readonly string[] Claims = ["a", "b", "c", "d"];

    /// <summary>Step N is appended to /a/steps, then /b/steps, /c/steps, /d/steps (one write each: a step is in a
    /// file or not).</summary>
    private const string Writer = "i=0; while true; do i=$((i+1)); for m in a b c d; do echo $i >> /$m/steps; done; sleep 0.01; done";

    private static readonly JsonObject GroupLabels = new() { ["group"] = "e2e" };

    [SkippableFact]
    public async Task Group_snapshot_of_four_claims_restores_all_at_one_instant()
    {
        Skip.IfNot(Settings.GroupSnapshots, "E2E_GROUP_SNAPSHOTS=0: the cluster does not serve VolumeGroupSnapshots");
        await using var t = await TestScope.StartAsync(cluster, output, "group-snapshot");
        var storageClass = Settings.Pods ? cluster.XfsWaitForConsumer : cluster.XfsImmediate;
        await t.Step($"{Claims.Length} labelled PVCs created", async () =>
        {
            foreach (var pvc in Claims)
            {
                await t.ApplyAsync(Manifests.Pvc(pvc, storageClass, cluster.Size(1), labels: GroupLabels.DeepClone().AsObject()));
            }
        });
        var attachments = new List<string>();
        if (Settings.Pods)
        {
            await t.Step($"writer pod on {Claims.Length} PVCs Ready", () => t.StartPodAsync(
                Manifests.PodWithClaims("writer", Settings.Image, Writer, [.. Claims.Select(c => (c, c))])));
            foreach (var pvc in Claims)
            {
                await t.WaitBoundAsync(pvc);
            }
            await t.Step("writer has written", () => t.UntilAsync("a step in /d/steps", () => LastStepAsync(t, "writer", "d"),
                step => step > 0, step => $"step {step}"));
        }
        else
        {
            // All on the one node (instance): EC2 CreateSnapshots takes the volumes of one instance.
            foreach (var pvc in Claims)
            {
                var pv = await t.Step($"PVC {pvc} bound", () => t.WaitBoundAsync(pvc));
                attachments.Add(await t.Step($"PVC {pvc} attached through a VolumeAttachment", () => t.AttachAsync(pv["metadata"]!["name"]!.GetValue<string>())));
            }
        }

        await t.Step("VolumeGroupSnapshot created", () => t.ApplyAsync(Manifests.VolumeGroupSnapshot("group", cluster.GroupSnapshotClass, GroupLabels.DeepClone().AsObject())));
        var group = await t.Step($"VolumeGroupSnapshot of {Claims.Length} readyToUse", () => t.WaitGroupSnapshotReadyAsync("group"));
        // A "still pending" answer on the way (aws) is an error the snapshotter records; ready clears it.
        Assert.Null(group["status"]?["error"]);
        // snapshot-controller creates the member VolumeSnapshots and marks them with the group's name on its own
        // time (client-side throttled): the group can read readyToUse a moment before the last member says so.
        var members = await t.Step($"{Claims.Length} member snapshots named in the group", () => t.UntilAsync(
            "every claim's member snapshot", () => t.GroupMembersAsync("group"), m => m.Count == Claims.Length,
            m => string.Join(", ", m.Keys.Order())));
        Assert.Equal(Claims, members.Keys.Order());
        foreach (var (pvc, snapshot) in members)
        {
            var ready = await t.Step($"member snapshot of {pvc} readyToUse", () => t.WaitSnapshotReadyAsync(snapshot));
            Assert.Equal("group", ready["status"]!["volumeGroupSnapshotName"]!.GetValue<string>());
        }

        if (Settings.Pods)
        {
            var restored = await t.Step($"{Claims.Length} members restored, pod on all Ready", async () =>
            {
                foreach (var pvc in Claims)
                {
                    await t.ApplyAsync(Manifests.Pvc(pvc + "-restored", storageClass, cluster.Size(1), dataSource: Manifests.SnapshotSource(members[pvc])));
                }
                await t.StartPodAsync(Manifests.PodWithClaims("reader", Settings.Image, "while true; do sleep 1; done",
                    [.. Claims.Select(c => (c, c + "-restored"))]));
                var steps = new List<int>();
                foreach (var pvc in Claims)
                {
                    await t.WaitBoundAsync(pvc + "-restored");
                    steps.Add(await LastStepAsync(t, "reader", pvc));
                }
                return steps;
            });
            t.Steps.Note($"restored: {string.Join(", ", Claims.Zip(restored, (c, s) => $"{c} at step {s}"))}");
            Assert.True(restored[^1] > 0, "the restored d has the writer's steps");
            // Appended a to d in turn: one instant shows each volume at the step of the one before it, or one behind,
            // and the first at most one ahead of the last.
            for (var i = 1; i < restored.Count; i++)
            {
                Assert.InRange(restored[i], restored[0] - 1, restored[i - 1]);
            }
            // The members' filesystems were thawed: the writer went on after the group.
            await t.Step("writer goes on after the group (filesystems thawed)", () => t.UntilAsync("the writer past the restored step",
                () => LastStepAsync(t, "writer", "d"), step => step > restored[0] + 1, step => $"step {step}"));
        }
        else
        {
            await t.Step("member of a restored", () => t.ApplyAsync(
                Manifests.Pvc("a-restored", storageClass, cluster.Size(1), dataSource: Manifests.SnapshotSource(members["a"]))));
            var restored = await t.Step("restored PVC bound", () => t.WaitBoundAsync("a-restored"));
            Assert.Equal(cluster.Size(1), restored["spec"]!["capacity"]!["storage"]!.GetValue<string>());
            foreach (var attachment in attachments)
            {
                await t.Step("source detached (ControllerUnpublishVolume)", () => t.DetachAsync(attachment));
            }
        }
        await t.Step("everything deleted, nothing left", t.DeleteEverythingAndVerifyAsync);
    }

    /// <summary>The last step in /&lt;mount&gt;/steps in the pod; 0 when there is none yet.</summary>
    private static async Task<int> LastStepAsync(TestScope t, string pod, string mount)
    {
        var last = await t.ExecAsync(pod, $"tail -n 1 /{mount}/steps 2>/dev/null || true");
        return last.Length == 0 ? 0 : int.Parse(last, CultureInfo.InvariantCulture);
    }
}
