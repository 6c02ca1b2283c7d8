import { type FormEvent, useState } from 'react';
import { api, type Me, type Team, type VirtualKey } from '../api';
import { ErrorNote, Field, useAction, useLoad, usePages } from '../ui';
import { describeGrants, type GrantChoice, GrantPicker, grantBody } from './grants';

export function TeamsPage({ me }: { me: Me }) {
  const teams = useLoad(() => api<Team[]>('GET', '/team/list'));
  const [editing, setEditing] = useState<Team | 'new' | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const { rows, pager } = usePages(teams.data ?? []);

  const action = useAction(teams.reload);
  const remove = (team: Team) =>
    action.run(
      () => api('POST', '/team/delete', { team_ids: [team.team_id] }),
      `Delete team ${team.team_id}? A team that still has keys cannot be deleted.`,
    );

  if (editing)
    return (
      <TeamForm
        team={editing === 'new' ? null : editing}
        onDone={(saved) => {
          setEditing(null);
          if (saved) teams.reload();
        }}
      />
    );
  return (
    <section>
      {me.can_write && (
        <div className="toolbar">
          <button type="button" className="primary" onClick={() => setEditing('new')}>
            Create team
          </button>
        </div>
      )}
      <ErrorNote error={teams.error ?? action.error} />
      <div className="table-wrap">
        <table>
          <caption className="sr-only">Teams</caption>
          <thead>
            <tr>
              <th scope="col">Team</th>
              <th scope="col">Grants</th>
              <th scope="col">Status</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((team) => (
              <tr key={team.team_id} data-testid={`team-${team.team_id}`}>
                <th scope="row">
                  {team.team_id}
                  {team.team_alias && <div className="muted">{team.team_alias}</div>}
                  {open === team.team_id && <TeamKeys teamId={team.team_id} />}
                </th>
                <td className="small">{describeGrants(team.object_permission)}</td>
                <td>
                  {team.blocked ? (
                    <span className="badge bad">blocked</span>
                  ) : (
                    <span className="badge ok">active</span>
                  )}
                </td>
                <td className="actions">
                  <button
                    type="button"
                    aria-expanded={open === team.team_id}
                    onClick={() => setOpen(open === team.team_id ? null : team.team_id)}
                  >
                    Members' keys
                  </button>
                  {me.can_write && (
                    <>
                      <button type="button" onClick={() => setEditing(team)}>
                        Edit
                      </button>
                      <button type="button" className="danger" onClick={() => void remove(team)}>
                        Delete
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {teams.data?.length === 0 && <p>No teams.</p>}
      {pager}
    </section>
  );
}

function TeamKeys({ teamId }: { teamId: string }) {
  const info = useLoad(
    () => api<{ keys: VirtualKey[] }>('GET', `/team/info?team_id=${encodeURIComponent(teamId)}`),
    [teamId],
  );
  if (info.error) return <ErrorNote error={info.error} />;
  if (!info.data) return <p className="small">Loading…</p>;
  if (info.data.keys.length === 0) return <p className="small muted">No keys in this team.</p>;
  return (
    <ul className="small" aria-label={`Keys of team ${teamId}`}>
      {info.data.keys.map((k) => (
        <li key={k.key_id}>
          {k.key_alias ?? '—'} <span className="mono">{k.key_name}</span> · {k.role}
          {k.blocked ? ' · blocked' : ''}
        </li>
      ))}
    </ul>
  );
}

function TeamForm({ team, onDone }: { team: Team | null; onDone: (saved: boolean) => void }) {
  const [teamId, setTeamId] = useState(team?.team_id ?? '');
  const [alias, setAlias] = useState(team?.team_alias ?? '');
  const [blocked, setBlocked] = useState(team?.blocked ?? false);
  const permission = team?.object_permission;
  const [grants, setGrants] = useState<GrantChoice>({
    limited: permission ? permission.mcp_servers !== null || permission.mcp_access_groups !== null : true,
    servers: permission?.mcp_servers ?? [],
    groups: permission?.mcp_access_groups ?? [],
  });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    try {
      const fields = { team_alias: alias || null, object_permission: grantBody(grants) };
      if (team) await api('POST', '/team/update', { team_id: team.team_id, blocked, ...fields });
      else await api('POST', '/team/new', { team_id: teamId || undefined, ...fields });
      onDone(true);
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };
  return (
    <form
      className="panel form"
      onSubmit={(e) => void submit(e)}
      aria-label={team ? 'Edit team' : 'Create team'}
    >
      <h2>{team ? `Edit team ${team.team_id}` : 'Create a team'}</h2>
      {!team && (
        <Field
          label="Team id"
          name="team_id"
          error={error}
          hint="Letters, digits and _.:-; empty: a generated id."
        >
          {(p) => <input {...p} value={teamId} onChange={(e) => setTeamId(e.target.value)} />}
        </Field>
      )}
      <Field label="Display name" name="team_alias" error={error}>
        {(p) => <input {...p} value={alias} onChange={(e) => setAlias(e.target.value)} />}
      </Field>
      {team && (
        <div className="field check">
          <input
            id="team-blocked"
            type="checkbox"
            checked={blocked}
            onChange={(e) => setBlocked(e.target.checked)}
          />
          <label htmlFor="team-blocked">Blocked (its keys are refused)</label>
        </div>
      )}
      <GrantPicker legend="MCP grants of the team" value={grants} onChange={setGrants} />
      <ErrorNote error={error} />
      <div className="toolbar">
        <button type="submit" className="primary" disabled={busy}>
          {team ? 'Save changes' : 'Create team'}
        </button>
        <button type="button" onClick={() => onDone(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
