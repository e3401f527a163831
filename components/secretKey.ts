// The app's SECRET_KEY: 32 random bytes kept by the rotation generation, in the form `secrets.token_urlsafe(32)` prints.
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { checkGeneration, secretKeyFromBase64 } from "../stacks/rotation";

export interface SecretKeyArgs {
    /** `secretKeyGeneration`: bumping it (in a reviewed PR) is what rotates the key. */
    readonly generation: number;
}

export class SecretKey extends pulumi.ComponentResource {
    /** The key: 43 URL-safe base64 characters, no padding; always a secret. */
    public readonly value: pulumi.Output<string>;
    /** The random source, for tests and `dependsOn`. */
    public readonly bytes: random.RandomBytes;

    constructor(name: string, args: SecretKeyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ahoy:secrets:SecretKey", name, {}, opts);
        checkGeneration(args.generation, "secretKeyGeneration");
        this.bytes = new random.RandomBytes(
            `${name}-bytes`,
            // A keeper change is the only thing that makes new bytes; the string form keeps state and input alike.
            { length: 32, keepers: { generation: String(args.generation) } },
            { parent: this },
        );
        // Explicitly secret: the provider marks `base64` secret, but the derived value must stay so under every engine.
        this.value = pulumi.secret(this.bytes.base64.apply(secretKeyFromBase64));
        this.registerOutputs({ value: this.value });
    }
}
