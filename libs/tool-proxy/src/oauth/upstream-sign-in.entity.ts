import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/**
 * One user's sign-in at an upstream's authorization server (auth_type oauth2, oauth2_flow authorization_code):
 * their tokens, or the sign-in they were sent to and have not finished. Everything secret is in `secret`,
 * encrypted (AES-256-GCM, a key derived from SALT_KEY or the master key); the other columns are what the API
 * shows.
 */
@Entity({ name: 'mcp_upstream_sign_in' })
export class UpstreamSignInEntity {
  @PrimaryColumn({ type: 'text' })
  serverId: string;

  /** `user:<user_id>`, `key:<key id>` or `master` (see signInOwner). */
  @PrimaryColumn({ type: 'text' })
  owner: string;

  /** Encrypted JSON: the tokens, and the pending sign-in (its nonce, PKCE verifier, URL, discovery). */
  @Column({ type: 'text' })
  secret: string;

  /** When the access token expires (null: unknown, or not signed in yet). */
  @Column({ type: 'timestamptz', nullable: true })
  expiresAt: Date | null;

  /** The scope granted. */
  @Column({ type: 'text', nullable: true })
  scope: string | null;

  /** When the user finished signing in (null: a sign-in is pending). */
  @Column({ type: 'timestamptz', nullable: true })
  connectedAt: Date | null;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}

/**
 * The gateway's registration at an upstream's authorization server (dynamic client registration, RFC 7591),
 * shared by every user of the server; `issuer` says which authorization server it belongs to (a new one gets a
 * new registration).
 */
@Entity({ name: 'mcp_upstream_oauth_client' })
export class UpstreamOAuthClientEntity {
  @PrimaryColumn({ type: 'text' })
  serverId: string;

  @Column({ type: 'text' })
  issuer: string;

  /** Encrypted JSON: the client information (client_id, client_secret if any). */
  @Column({ type: 'text' })
  secret: string;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
