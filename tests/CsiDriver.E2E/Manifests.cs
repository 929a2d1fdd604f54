using System.Text.Json.Nodes;

namespace CsiDriver.E2E;

/// <summary>The objects a test creates, as JSON for <c>kubectl apply</c>. The classes come from deploy/examples (<see cref="Examples"/>).</summary>
public static class Manifests
{
    /// <summary>Mounted at this path in every filesystem pod, and this device path for raw block pods.</summary>
    public const string MountPath = "/data";
    public const string DevicePath = "/dev/e2e-block";

    public static JsonObject Namespace(string name) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Namespace",
        ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["app.kubernetes.io/part-of"] = "csidriver-e2e" } },
    };

    public static JsonObject Pvc(string name, string storageClass, string size, bool block = false,
        JsonObject? dataSource = null, string? volumeAttributesClass = null)
    {
        var spec = new JsonObject
        {
            ["storageClassName"] = storageClass,
            ["accessModes"] = new JsonArray("ReadWriteOnce"),
            ["volumeMode"] = block ? "Block" : "Filesystem",
            ["resources"] = new JsonObject { ["requests"] = new JsonObject { ["storage"] = size } },
        };
        if (dataSource is not null)
        {
            spec["dataSource"] = dataSource;
        }
        if (volumeAttributesClass is not null)
        {
            spec["volumeAttributesClassName"] = volumeAttributesClass;
        }
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "PersistentVolumeClaim",
            ["metadata"] = new JsonObject { ["name"] = name },
            ["spec"] = spec,
        };
    }

    public static JsonObject SnapshotSource(string snapshot) => new()
    {
        ["apiGroup"] = "snapshot.storage.k8s.io",
        ["kind"] = "VolumeSnapshot",
        ["name"] = snapshot,
    };

    public static JsonObject PvcSource(string pvc) => new() { ["kind"] = "PersistentVolumeClaim", ["name"] = pvc };

    /// <summary>A pod that idles on the claim until deleted (and exits at once on SIGTERM, so deletion is quick);
    /// the test works in it through kubectl exec.</summary>
    public static JsonObject Pod(string name, string pvc, string image, bool block = false)
    {
        var container = new JsonObject
        {
            ["name"] = "app",
            ["image"] = image,
            ["imagePullPolicy"] = "IfNotPresent",
            ["command"] = new JsonArray("sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"),
        };
        if (block)
        {
            container["volumeDevices"] = new JsonArray(new JsonObject { ["name"] = "vol", ["devicePath"] = DevicePath });
        }
        else
        {
            container["volumeMounts"] = new JsonArray(new JsonObject { ["name"] = "vol", ["mountPath"] = MountPath });
        }
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject { ["name"] = name },
            ["spec"] = new JsonObject
            {
                ["terminationGracePeriodSeconds"] = 5,
                ["containers"] = new JsonArray(container),
                ["volumes"] = new JsonArray(new JsonObject
                {
                    ["name"] = "vol",
                    ["persistentVolumeClaim"] = new JsonObject { ["claimName"] = pvc },
                }),
            },
        };
    }

    public static JsonObject VolumeSnapshot(string name, string pvc, string snapshotClass) => new()
    {
        ["apiVersion"] = "snapshot.storage.k8s.io/v1",
        ["kind"] = "VolumeSnapshot",
        ["metadata"] = new JsonObject { ["name"] = name },
        ["spec"] = new JsonObject
        {
            ["volumeSnapshotClassName"] = snapshotClass,
            ["source"] = new JsonObject { ["persistentVolumeClaimName"] = pvc },
        },
    };

    /// <summary>What the attach/detach controller creates for a pod's volume; the suite creates it itself when
    /// the node cannot run the backend's volumes, so the external-attacher still does ControllerPublish.</summary>
    public static JsonObject VolumeAttachment(string name, string driver, string node, string pv) => new()
    {
        ["apiVersion"] = "storage.k8s.io/v1",
        ["kind"] = "VolumeAttachment",
        ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["app.kubernetes.io/part-of"] = "csidriver-e2e" } },
        ["spec"] = new JsonObject
        {
            ["attacher"] = driver,
            ["nodeName"] = node,
            ["source"] = new JsonObject { ["persistentVolumeName"] = pv },
        },
    };
}
