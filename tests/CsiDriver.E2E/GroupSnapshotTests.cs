using System.Globalization;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace CsiDriver.E2E;

/// <summary>
/// VolumeGroupSnapshot (groupsnapshot.storage.k8s.io/v1beta1) as a user takes one: label-selected claims, one
/// group snapshot through snapshot-controller and csi-snapshotter (CreateVolumeGroupSnapshot), its member
/// VolumeSnapshots restored into new claims. With pods, a writer appends the same counter to both volumes, a then
/// b, while the group is taken: the restored volumes show one instant (b ≤ a ≤ b + 1) whatever the machine's load.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class GroupSnapshotTests(ClusterFixture cluster, ITestOutputHelper output)
{
    private E2ESettings Settings => cluster.Settings;

    /// <summary>Step N is appended to /a/steps, then to /b/steps (one write each: a step is in a file or not).</summary>
    private const string Writer = "i=0; while true; do i=$((i+1)); echo $i >> /a/steps; echo $i >> /b/steps; sleep 0.01; done";

    private static readonly JsonObject GroupLabels = new() { ["group"] = "e2e" };

    [SkippableFact]
    public async Task Group_snapshot_of_two_claims_restores_both_at_one_instant()
    {
        Skip.IfNot(Settings.GroupSnapshots, "E2E_GROUP_SNAPSHOTS=0: the cluster does not serve VolumeGroupSnapshots");
        // csi-snapshotter v8.2 never asks again about a group the driver answered ready_to_use=false
        // (kubernetes-csi/external-snapshotter#1457; seen here: no call after the first, also with --resync-period=15s),
        // and EC2 CreateSnapshots answers pending: the VolumeGroupSnapshot would stay readyToUse=false.
        Skip.If(Settings.Backend == "aws" && !Settings.PendingGroupsRechecked,
            "csi-snapshotter v8.2 does not re-check a pending group snapshot (external-snapshotter#1457): set E2E_PENDING_GROUPS_RECHECKED=1 with a snapshotter that does");
        await using var t = await TestScope.StartAsync(cluster, output, "group-snapshot");
        var storageClass = Settings.Pods ? cluster.XfsWaitForConsumer : cluster.XfsImmediate;
        await t.Step("two labelled PVCs created", async () =>
        {
            await t.ApplyAsync(Manifests.Pvc("a", storageClass, cluster.Size(1), labels: GroupLabels.DeepClone().AsObject()));
            await t.ApplyAsync(Manifests.Pvc("b", storageClass, cluster.Size(1), labels: GroupLabels.DeepClone().AsObject()));
        });
        var attachments = new List<string>();
        if (Settings.Pods)
        {
            await t.Step("writer pod on both PVCs Ready", () => t.StartPodAsync(Manifests.PodWithClaims("writer", Settings.Image, Writer, ("a", "a"), ("b", "b"))));
            await t.WaitBoundAsync("a");
            await t.WaitBoundAsync("b");
            await t.Step("writer has written", () => t.UntilAsync("a step in /b/steps", () => LastStepAsync(t, "writer", "b"),
                step => step > 0, step => $"step {step}"));
        }
        else
        {
            // Both on the one node (instance): EC2 CreateSnapshots takes the volumes of one instance.
            foreach (var pvc in new[] { "a", "b" })
            {
                var pv = await t.Step($"PVC {pvc} bound", () => t.WaitBoundAsync(pvc));
                attachments.Add(await t.Step($"PVC {pvc} attached through a VolumeAttachment", () => t.AttachAsync(pv["metadata"]!["name"]!.GetValue<string>())));
            }
        }

        await t.Step("VolumeGroupSnapshot created", () => t.ApplyAsync(Manifests.VolumeGroupSnapshot("group", cluster.GroupSnapshotClass, GroupLabels.DeepClone().AsObject())));
        await t.Step("VolumeGroupSnapshot of 2 readyToUse", () => t.WaitGroupSnapshotReadyAsync("group"));
        var members = await t.GroupMembersAsync("group");
        Assert.Equal(["a", "b"], members.Keys.Order());
        foreach (var (pvc, snapshot) in members)
        {
            var ready = await t.Step($"member snapshot of {pvc} readyToUse", () => t.WaitSnapshotReadyAsync(snapshot));
            Assert.Equal("group", ready["status"]!["volumeGroupSnapshotName"]!.GetValue<string>());
        }

        if (Settings.Pods)
        {
            var restoredAt = await t.Step("both members restored, pod on both Ready", async () =>
            {
                await t.ApplyAsync(Manifests.Pvc("a-restored", storageClass, cluster.Size(1), dataSource: Manifests.SnapshotSource(members["a"])));
                await t.ApplyAsync(Manifests.Pvc("b-restored", storageClass, cluster.Size(1), dataSource: Manifests.SnapshotSource(members["b"])));
                await t.StartPodAsync(Manifests.PodWithClaims("reader", Settings.Image, "while true; do sleep 1; done", ("a", "a-restored"), ("b", "b-restored")));
                await t.WaitBoundAsync("a-restored");
                await t.WaitBoundAsync("b-restored");
                return (A: await LastStepAsync(t, "reader", "a"), B: await LastStepAsync(t, "reader", "b"));
            });
            t.Steps.Note($"restored: a at step {restoredAt.A}, b at step {restoredAt.B}");
            Assert.True(restoredAt.B > 0, "the restored b has the writer's steps");
            // b is written after a: one instant shows b = a, or b one behind (between the two appends of a step).
            Assert.InRange(restoredAt.A, restoredAt.B, restoredAt.B + 1);
            // The members' filesystems were thawed: the writer went on after the group.
            await t.Step("writer goes on after the group (filesystems thawed)", () => t.UntilAsync("the writer past the restored step",
                () => LastStepAsync(t, "writer", "b"), step => step > restoredAt.B + 1, step => $"step {step}"));
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
