using Amazon.EC2;
using Amazon.EC2.Model;
using CsiDriver.Cloud.Aws.Ec2;
using CsiDriver.Cloud.Aws.Waiting;
using CsiDriver.Core.Concurrency;
using CsiDriver.Core.Errors;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CsiDriver.Cloud.Aws.Volumes;

/// <summary>What a caller wants changed; null fields are left as they are.</summary>
public sealed record ModifyTarget(int? SizeGiB = null, string? VolumeType = null, int? Iops = null, int? Throughput = null)
{
    /// <summary>True when the two can be one ModifyVolume: no field set to two different values (sizes take the larger).</summary>
    public bool CanMerge(ModifyTarget other) =>
        Same(VolumeType, other.VolumeType) && Same(Iops, other.Iops) && Same(Throughput, other.Throughput);

    public ModifyTarget Merge(ModifyTarget other) => new(
        SizeGiB is null ? other.SizeGiB : other.SizeGiB is null ? SizeGiB : Math.Max(SizeGiB.Value, other.SizeGiB.Value),
        VolumeType ?? other.VolumeType,
        Iops ?? other.Iops,
        Throughput ?? other.Throughput);

    private static bool Same<T>(T? a, T? b) => a is null || b is null || EqualityComparer<T>.Default.Equals(a, b);
}

/// <summary>
/// Folds the expand and modify requests for one volume into as few ModifyVolume calls as possible. EC2
/// allows one modification per volume at a time and then a cooldown, so an expand and a VolumeAttributesClass
/// change that arrive together must be one call or the second fails for hours. Requests to a volume
/// gather in an open batch for a short window; requests arriving while a batch is being applied gather in
/// the next one. A request that conflicts with the open batch (another type, other IOPS) opens the next batch.
/// Every caller awaits the outcome of the batch holding its request. Each volume's drain loop runs under
/// <see cref="BackgroundLoops"/>: when the host stops it ends, and the batches it had not applied fail with UNAVAILABLE.
/// </summary>
public sealed class ModificationCoalescer(
    Ec2Caller ec2,
    Ec2Pollers pollers,
    IOptions<AwsBackendOptions> options,
    ILogger<ModificationCoalescer> logger,
    BackgroundLoops? loops = null)
{
    private readonly AwsTuning _tuning = options.Value.Tuning;
    private readonly BackgroundLoops _loops = loops ?? new BackgroundLoops();
    private readonly Dictionary<string, VolumeQueue> _queues = new(StringComparer.Ordinal);

    /// <summary>Applies the target to the volume (with whatever was folded in) and returns the volume after EC2 accepted it.</summary>
    public Task<Volume> SubmitAsync(string volumeId, ModifyTarget target, CancellationToken cancellationToken)
    {
        if (_loops.Stopping.IsCancellationRequested)
        {
            throw BackgroundLoops.ShuttingDown();
        }
        Batch batch;
        lock (_queues)
        {
            if (!_queues.TryGetValue(volumeId, out var queue))
            {
                queue = new VolumeQueue();
                _queues[volumeId] = queue;
            }
            batch = queue.Pending.LastOrDefault(b => b.Target.CanMerge(target)) is { } open && open == queue.Pending.LastOrDefault()
                ? open
                : AddBatch(queue);
            batch.Target = batch.Target.Merge(target);
            batch.Requests++;
            if (!queue.Running)
            {
                queue.Running = true;
                try
                {
                    _ = _loops.Start(stopping => DrainAsync(volumeId, queue, stopping));
                }
                catch (StorageException ex)
                {
                    // Stopping: nothing will apply this batch.
                    queue.Running = false;
                    _queues.Remove(volumeId);
                    batch.Completion.TrySetException(ex);
                }
            }
        }
        return batch.Completion.Task.WaitAsync(cancellationToken);
    }

    private static Batch AddBatch(VolumeQueue queue)
    {
        var batch = new Batch();
        queue.Pending.Add(batch);
        return batch;
    }

    private async Task DrainAsync(string volumeId, VolumeQueue queue, CancellationToken stopping)
    {
        try
        {
            await DrainBatchesAsync(volumeId, queue, stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            lock (_queues)
            {
                foreach (var batch in queue.Pending)
                {
                    batch.Completion.TrySetException(BackgroundLoops.ShuttingDown());
                }
                queue.Pending.Clear();
                queue.Running = false;
                _queues.Remove(volumeId);
            }
        }
    }

    private async Task DrainBatchesAsync(string volumeId, VolumeQueue queue, CancellationToken stopping)
    {
        while (true)
        {
            // Let partners of the first request arrive (an expand and a modify sent by two sidecars). The volume is
            // read meanwhile: on a Describe made for other waiters in the window when there is one.
            Task<Volume?>? read = null;
            if (_tuning.ModifyCoalesceWindow > TimeSpan.Zero)
            {
                lock (_queues)
                {
                    read = queue.Pending.Count > 0 ? pollers.Volumes.GetAsync(volumeId, _tuning.ModifyCoalesceWindow, stopping) : null;
                }
                await Task.Delay(_tuning.ModifyCoalesceWindow, stopping).ConfigureAwait(false);
            }
            Batch batch;
            lock (_queues)
            {
                if (queue.Pending.Count == 0)
                {
                    queue.Running = false;
                    _queues.Remove(volumeId);
                    return;
                }
                batch = queue.Pending[0];
                queue.Pending.RemoveAt(0);
            }
            try
            {
                AwsBackendLog.ModifyingVolume(logger, volumeId, batch.Requests);
                batch.Completion.TrySetResult(await ApplyAsync(volumeId, batch.Target, read, stopping).ConfigureAwait(false));
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                batch.Completion.TrySetException(BackgroundLoops.ShuttingDown());
                throw;
            }
#pragma warning disable CA1031 // Every waiter of the batch receives the failure.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                batch.Completion.TrySetException(ex);
            }
        }
    }

    private async Task<Volume> ApplyAsync(string volumeId, ModifyTarget target, Task<Volume?>? read, CancellationToken ct)
    {
        var volume = await (read ?? pollers.Volumes.GetAsync(volumeId, ct)).ConfigureAwait(false)
            ?? throw StorageException.NotFound($"volume {volumeId} does not exist");

        var currentType = volume.VolumeType?.Value ?? VolumeTypeLimits.Gp3;
        var newType = target.VolumeType ?? currentType;
        var limits = VolumeTypeLimits.Find(newType)
            ?? throw StorageException.InvalidArgument($"type={newType} is not an EBS volume type (use {string.Join(", ", VolumeTypeLimits.Types)})");
        var currentSize = volume.Size ?? 0;
        var newSize = Math.Max(currentSize, target.SizeGiB ?? 0);
        if (newSize > limits.MaxGiB)
        {
            throw StorageException.OutOfRange($"{newSize} GiB is above the {newType} maximum of {limits.MaxGiB} GiB");
        }
        if (newSize < limits.MinGiB)
        {
            throw StorageException.OutOfRange($"{newSize} GiB is below the {newType} minimum of {limits.MinGiB} GiB");
        }
        if (target.Iops is not null && !limits.SupportsIops)
        {
            throw StorageException.InvalidArgument($"iops is not supported for volume type {newType} (only gp3, io1 and io2)");
        }
        if (target.Throughput is not null && !limits.SupportsThroughput)
        {
            throw StorageException.InvalidArgument($"throughput is not supported for volume type {newType} (only gp3)");
        }
        // The IOPS the volume will have: asked for, else kept when the type keeps supporting them.
        int? effectiveIops = target.Iops ?? (limits.SupportsIops && newType == currentType ? volume.Iops : null);
        if (limits.IopsRequired && effectiveIops is null)
        {
            effectiveIops = volume.Iops ?? throw StorageException.InvalidArgument($"changing to {newType} needs iops");
        }
        if (target.Iops is { } iops)
        {
            VolumeParameters.CheckIops(limits, iops, newSize);
        }
        if (target.Throughput is { } throughput)
        {
            VolumeParameters.CheckThroughput(limits, throughput, effectiveIops);
        }

        var request = new ModifyVolumeRequest { VolumeId = volumeId };
        var changes = 0;
        if (newSize > currentSize)
        {
            request.Size = newSize;
            changes++;
        }
        if (newType != currentType)
        {
            request.VolumeType = VolumeType.FindValue(newType);
            changes++;
        }
        if (target.Iops is { } wantedIops && wantedIops != volume.Iops)
        {
            request.Iops = wantedIops;
            changes++;
        }
        if (target.Throughput is { } wantedThroughput && wantedThroughput != volume.Throughput)
        {
            request.Throughput = wantedThroughput;
            changes++;
        }
        if (changes == 0)
        {
            // Already as asked (a retry after a timeout, or nothing to do).
            return volume;
        }

        await ec2.CallAsync("ModifyVolume", (c, t) => c.ModifyVolumeAsync(request, t), ct).ConfigureAwait(false);
        AwsBackendLog.ModifiedVolume(logger, volumeId, request.Size, request.VolumeType?.Value, request.Iops, request.Throughput);

        // The new size is usable (the filesystem can grow) once the modification is optimizing.
        await pollers.Modifications.WaitAsync(volumeId, modification =>
        {
            if (modification is null)
            {
                return false;
            }
            if (modification.ModificationState == VolumeModificationState.Failed)
            {
                throw StorageException.Internal($"EC2 could not modify volume {volumeId}: {modification.StatusMessage}");
            }
            return (modification.ModificationState == VolumeModificationState.Optimizing
                    || modification.ModificationState == VolumeModificationState.Completed)
                && (request.Size is null || modification.TargetSize >= request.Size);
        }, new WaitSpec($"the modification of volume {volumeId}", RecentlyCreated: true), ct).ConfigureAwait(false);

        // A copy: the Describe answer is shared with other waiters of the same volume.
        return new Volume
        {
            VolumeId = volume.VolumeId,
            AvailabilityZone = volume.AvailabilityZone,
            State = volume.State,
            Attachments = volume.Attachments,
            MultiAttachEnabled = volume.MultiAttachEnabled,
            Tags = volume.Tags,
            Size = newSize,
            VolumeType = VolumeType.FindValue(newType),
            Iops = request.Iops ?? volume.Iops,
            Throughput = request.Throughput ?? volume.Throughput,
        };
    }

    private sealed class VolumeQueue
    {
        public List<Batch> Pending { get; } = [];
        public bool Running { get; set; }
    }

    private sealed class Batch
    {
        public ModifyTarget Target { get; set; } = new();
        public int Requests { get; set; }
        public TaskCompletionSource<Volume> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
